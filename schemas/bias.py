"""Bias: the model's headline check and neutral rewordings, and the findings of the report."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.evidence import SentenceRef, keep_valid_items


class BiasKind(StrEnum):
    """Typed kinds of slant an editor looks for."""

    loaded_language = "loaded_language"
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


class Slant(StrEnum):
    """Overall verdict on the article's tone."""

    neutral = "neutral"
    slightly_slanted = "slightly_slanted"
    strongly_slanted = "strongly_slanted"


class HeadlineCheck(BaseModel):
    """One thing the headline asserts and the body sentence that reports it, if any."""

    model_config = ConfigDict(extra="forbid")

    assertion: str = Field(description="one thing the headline asserts, in a few plain words")
    sentence: SentenceRef | None = Field(
        description="the number of the body sentence that reports it; null if none does"
    )


class Rewording(BaseModel):
    """A neutral way to say one flagged sentence."""

    model_config = ConfigDict(extra="forbid")

    sentence: SentenceRef = Field(description="the number of a sentence listed under FLAGGED")
    neutral: str = Field(description="the sentence reworded neutrally, at most 25 words")


class BiasDraft(BaseModel):
    """The model's answer: the headline against the body, and rewordings of flagged sentences."""

    model_config = ConfigDict(extra="forbid")

    headline_claims: list[HeadlineCheck] = Field(
        max_length=3, description="each thing the headline asserts, checked against the body"
    )
    neutral_headline: str = Field(description="a neutral headline true to what the body reports")
    rewordings: list[Rewording] = Field(description="one per FLAGGED sentence, in order")

    _keep_claims = field_validator("headline_claims", mode="wrap")(keep_valid_items)
    _keep = field_validator("rewordings", mode="wrap")(keep_valid_items)


class HeadlineClaim(BaseModel):
    """A headline assertion with the body's words that report it (None: the body does not)."""

    model_config = ConfigDict(extra="forbid")

    assertion: str
    sentence: int | None = None
    body_quote: str | None = None


class BiasFinding(BaseModel):
    """One instance of slant, anchored to the article's exact words."""

    model_config = ConfigDict(extra="forbid")

    kind: BiasKind
    quote: str = Field(description="the exact words from the article (headline included)")
    sentence: int | None = Field(None, description="the body sentence; None for the headline")
    severity: Severity
    score: float = Field(ge=0, le=1, description="how sure the signals are that it slants")
    explanation: str = Field(description="one sentence: why this slants the reader")
    neutral_rewording: str | None = Field(None, description="how a neutral report would put it")


class BiasAssessment(BaseModel):
    """All bias findings of one article and an overall judgement."""

    model_config = ConfigDict(extra="forbid")

    headline_claims: list[HeadlineClaim] = Field(default_factory=list)
    neutral_headline: str | None = None
    findings: list[BiasFinding]
    overall: Slant
    assessment: str = Field(description="what the overall verdict rests on")
