"""Bias: the model's headline check and neutral rewordings, and the findings of the report."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from schemas.evidence import SentenceRef, keep_valid_items


class BiasKind(StrEnum):
    """Typed kinds of slant an editor looks for."""

    loaded_language = "loaded_language"
    framing_verb = "framing_verb"
    intensifier = "intensifier"
    headline_body_mismatch = "headline_body_mismatch"
    clickbait_headline = "clickbait_headline"
    one_sided_sourcing = "one_sided_sourcing"
    opinion_as_fact = "opinion_as_fact"
    speculation_as_fact = "speculation_as_fact"
    framing = "framing"
    misdescription = "misdescription"


HEADLINE_KINDS = {BiasKind.headline_body_mismatch, BiasKind.clickbait_headline}


class Severity(StrEnum):
    """How much a finding distorts the reader's picture."""

    low = "low"
    medium = "medium"
    high = "high"


class RewordingKind(StrEnum):
    """Where a kept rewording comes from."""

    model = "model"  # the model's rewording, passed the checks
    minimal_edit = "minimal_edit"  # built in code from the tagged words, passed the same checks


class Slant(StrEnum):
    """Overall verdict on the article's tone."""

    neutral = "neutral"
    slightly_slanted = "slightly_slanted"
    strongly_slanted = "strongly_slanted"


class Rewording(BaseModel):
    """A neutral way to say one flagged sentence."""

    model_config = ConfigDict(extra="forbid")

    sentence: SentenceRef = Field(description="the number of a sentence listed under FLAGGED")
    neutral: str = Field(description="the sentence reworded neutrally, at most 20 words")


class BiasDraft(BaseModel):
    """The model's answer: a neutral headline, and rewordings of the flagged sentences."""

    model_config = ConfigDict(extra="forbid")

    neutral_headline: str = Field(description="a neutral headline true to what the body reports")
    rewordings: list[Rewording] = Field(description="one per FLAGGED sentence, in order")

    _keep = field_validator("rewordings", mode="wrap")(keep_valid_items)

    @classmethod
    @cache
    def for_flagged(cls, count: int) -> type[BiasDraft]:
        """The same answer with at most ``count`` rewordings in its JSON schema (maxItems), so
        a grammar-constrained server cannot reword the whole article; one class per count."""
        return create_model(
            cls.__name__,
            __base__=cls,
            __doc__=cls.__doc__,
            rewordings=(
                list[Rewording],
                Field(
                    description="one per FLAGGED sentence, in order",
                    json_schema_extra={"maxItems": count},
                ),
            ),
        )


class HeadlineClaim(BaseModel):
    """A headline assertion with the body's words that report it (None: the body does not)."""

    model_config = ConfigDict(extra="forbid")

    assertion: str = Field(description="a clause of the headline")
    sentence: int | None = Field(None, description="the body sentence that reports it")
    body_quote: str | None = None
    probability: float | None = Field(None, description="P(the body supports it)")


class BiasFinding(BaseModel):
    """One instance of slant, anchored to the article's exact words."""

    model_config = ConfigDict(extra="forbid")

    kind: BiasKind
    quote: str = Field(description="the exact words from the article (headline included)")
    sentence: int | None = Field(None, description="the body sentence; None for the headline")
    start: int | None = Field(None, description="body[start:end] == quote; None: the headline")
    end: int | None = None
    severity: Severity
    score: float = Field(ge=0, le=1, description="how sure the signals are that it slants")
    explanation: str = Field(description="one sentence: why this slants the reader")
    neutral_rewording: str | None = Field(None, description="how a neutral report would put it")
    rewording_kind: RewordingKind | None = Field(
        None, description="the model's rewording or a minimal edit made in code; None: none"
    )


class BiasAssessment(BaseModel):
    """All bias findings of one article and an overall judgement."""

    model_config = ConfigDict(extra="forbid")

    headline_claims: list[HeadlineClaim] = Field(default_factory=list)
    neutral_headline: str | None = None
    neutral_headline_kind: RewordingKind | None = None
    findings: list[BiasFinding]
    overall: Slant
    score: float = Field(0.0, ge=0, le=1, description="slant score: 0 neutral, 1 strongly slanted")
    evidence: list[str] = Field(default_factory=list, description="what the verdict rests on")
    assessment: str = Field(description="what the overall verdict rests on")
    dropped_rewordings: list[str] = Field(
        default_factory=list, description="rewordings the checks rejected, and why"
    )
