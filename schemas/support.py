"""Support: how each sentence stands in the article, as the model judges it in one call (for
providers without log-probabilities), and the verdict a claim inherits from its sentence."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.evidence import SentenceRef, keep_valid_items


class SentenceKind(StrEnum):
    """What a sentence does, as the model is asked (the letters of the per-sentence question)."""

    reported = "reported"
    opinion = "opinion"
    speculation = "speculation"
    fact = "fact"
    other = "other"


KIND_LETTERS = {
    "A": SentenceKind.reported,
    "B": SentenceKind.opinion,
    "C": SentenceKind.speculation,
    "D": SentenceKind.fact,
    "E": SentenceKind.other,
}


class SentenceJudgment(BaseModel):
    """The kind of one numbered sentence."""

    model_config = ConfigDict(extra="forbid")

    sentence: SentenceRef
    kind: SentenceKind = Field(
        description="reported: what a person, document or organisation said; opinion: the "
        "writer's own opinion, judgement or emotive wording; speculation: a guess or prediction; "
        "fact: a checkable statement of fact; other: background, a question or a transition"
    )


class SentenceJudgments(BaseModel):
    """The model's answer: one judgment per numbered sentence."""

    model_config = ConfigDict(extra="forbid")

    judgments: list[SentenceJudgment] = Field(description="one per sentence, in order")

    _keep = field_validator("judgments", mode="wrap")(keep_valid_items)


class Verdict(StrEnum):
    """How a claim stands inside the article."""

    supported_by_attribution = "supported_by_attribution"
    supported_by_evidence_in_text = "supported_by_evidence_in_text"
    unsupported = "unsupported"
    opinion_as_fact = "opinion_as_fact"
    speculation = "speculation"

    @property
    def supported(self) -> bool:
        """True for the two verdicts that mean the article backs the claim."""
        return self.value.startswith("supported")


class SupportVerdict(BaseModel):
    """A claim's verdict, read from its sentence's label, with the article's own words as
    evidence (sentences cut from the body by code)."""

    model_config = ConfigDict(extra="forbid")

    verdict: Verdict
    score: float = Field(ge=0, le=1, description="the sentence label's score")
    attribution: str | None = Field(
        None, description="the article's words naming who the claim comes from"
    )
    rationale: str = Field(description="which signals gave the verdict")
    evidence: list[str] = Field(
        default_factory=list, description="sentences that back it, exactly as the article has them"
    )
