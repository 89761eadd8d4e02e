"""Output of the bias stage."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from schemas.evidence import Quote, keep_valid_items


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
        "headline_body_mismatch: the headline states something the body does not report; "
        "clickbait_headline: a headline built to provoke (exclamations, insinuating questions); "
        "one_sided_sourcing: only one side quoted on a contested point; "
        "opinion_as_fact / speculation_as_fact: a judgement or guess stated as established fact; "
        "framing: selection or wording that casts events in a particular light; "
        "misdescription: a person, title or event described wrongly by the article's own evidence"
    )
    quote: Quote = Field(description="the exact words from the article (headline included)")
    severity: Severity
    explanation: str = Field(description="one sentence: why this slants the reader")
    neutral_rewording: str = Field(description="how a neutral report would put it")

    @model_validator(mode="after")
    def _headline_kinds_quote_the_headline(self, info: ValidationInfo) -> BiasFinding:
        context = info.context or {}
        if self.kind not in HEADLINE_KINDS or "headline" not in context:
            return self
        headline = normalize_text(context["headline"] or "")
        if not headline or normalize_text(self.quote) not in headline:
            raise ValueError(f"a {self.kind.value} finding must quote the headline itself")
        return self


class BiasAssessment(BaseModel):
    """All bias findings of one article and an overall judgement."""

    model_config = ConfigDict(extra="forbid")

    headline_check: str = Field(
        description="one sentence: does the body report and support what the headline says?"
    )
    findings: list[BiasFinding] = Field(
        description="only real problems; a neutral article may have none"
    )
    overall: Slant
    assessment: str = Field(description="two sentences on the article's tone and sourcing")

    _keep = field_validator("findings", mode="wrap")(keep_valid_items)
