"""Output of the bias stage."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from schemas.evidence import Quote, keep_valid_items, same_text, style_problem


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


def normalize_text(text: str) -> str:
    """Casefolded text with runs of whitespace collapsed (quotes are already article spans)."""
    return " ".join(text.casefold().split())


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


class BiasFinding(BaseModel):
    """One instance of slant, anchored to a verbatim quote."""

    model_config = ConfigDict(extra="forbid")

    kind: BiasKind = Field(
        description="loaded_language: emotive or sensational words where neutral ones would do; "
        "headline_body_mismatch: the headline (quote it) states something the body does not "
        "report; clickbait_headline: a headline (quote it) built to provoke; "
        "one_sided_sourcing: only one side quoted on a contested point; "
        "opinion_as_fact / speculation_as_fact: a judgement or guess stated as established fact; "
        "framing: selection or wording that casts events in a particular light; "
        "misdescription: a person, title or event described wrongly by the article's own evidence"
    )
    quote: Quote = Field(description="the exact words from the article (headline included)")
    severity: Severity
    explanation: str = Field(description="one sentence: why this slants the reader")
    neutral_rewording: str = Field(description="how a neutral report would put it")

    @field_validator("neutral_rewording")
    @classmethod
    def _rewording_differs(cls, value: str, info: ValidationInfo) -> str:
        quote = info.data.get("quote")
        if quote and same_text(value, quote):
            problem = "neutral_rewording repeats the quote"
            return style_problem(value, info, problem, reask=False)
        return value


class HeadlineClaim(BaseModel):
    """One assertion of the headline and the body's words that report it, if any."""

    model_config = ConfigDict(extra="forbid")

    assertion: str = Field(description="one thing the headline asserts, in a few plain words")
    body_quote: Quote | None = Field(
        description="the exact words of the body that report this assertion; null if the body "
        "does not report it"
    )

    @field_validator("body_quote")
    @classmethod
    def _from_the_body(cls, value: str | None, info: ValidationInfo) -> str | None:
        headline = (info.context or {}).get("headline")
        if value and headline and normalize_text(value) in normalize_text(headline):
            raise ValueError("body_quote must come from the body, not from the headline")
        return value


class BiasAssessment(BaseModel):
    """All bias findings of one article and an overall judgement."""

    model_config = ConfigDict(extra="forbid")

    headline_claims: list[HeadlineClaim] = Field(
        max_length=3, description="each thing the headline asserts, checked against the body"
    )
    neutral_headline: str = Field(description="a neutral headline true to what the body reports")

    _keep_claims = field_validator("headline_claims", mode="wrap")(keep_valid_items)

    @field_validator("neutral_headline")
    @classmethod
    def _headline_reworded(cls, value: str, info: ValidationInfo) -> str:
        headline = (info.context or {}).get("headline")
        if headline and same_text(value, headline):
            problem = "neutral_headline repeats the headline"
            return style_problem(value, info, problem, reask=False)
        return value

    findings: list[BiasFinding] = Field(
        description="only real problems; a neutral article may have none"
    )
    overall: Slant
    assessment: str = Field(description="two sentences on the article's tone and sourcing")

    _keep = field_validator("findings", mode="wrap")(keep_valid_items)
