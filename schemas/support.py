"""Output of the support stage: is each claim supported inside the article?"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from schemas.evidence import Quote, keep_valid_items


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
    """The verdict on one claim, with a rationale and evidence quoted from the article."""

    model_config = ConfigDict(extra="forbid")

    claim_id: int = Field(description="the number of the claim in the list given")
    attribution: Quote | None = Field(
        description="the exact words of the article that name who the claim comes from "
        "(e.g. 'the minister told reporters', 'according to the report'); null if the article "
        "states it in its own voice or cites only unnamed sources"
    )
    rationale: str = Field(description="one short sentence explaining the verdict")
    verdict: Verdict = Field(
        description="supported_by_attribution: a named source is quoted or cited for it; "
        "supported_by_evidence_in_text: other sentences of the article give facts, figures or "
        "documents for it (the claim's own words are not evidence for it); "
        "unsupported: asserted with no source, or only unnamed sources; "
        "opinion_as_fact: a judgement stated as fact; "
        "speculation: a guess or prediction presented as established"
    )
    evidence: list[Quote] = Field(
        max_length=2,
        description="the shortest exact words of the article that show the attribution or "
        "evidence; for unsupported claims, the claim's own wording",
    )

    @field_validator("claim_id")
    @classmethod
    def _known_claim(cls, value: int, info: ValidationInfo) -> int:
        count = (info.context or {}).get("claim_count")
        if count is not None and not 1 <= value <= count:
            raise ValueError(f"claim_id {value} is not a claim number (1..{count})")
        return value

    @model_validator(mode="after")
    def _support_needs_evidence(self) -> SupportVerdict:
        if self.verdict.supported and not self.evidence:
            raise ValueError(f"verdict {self.verdict.value} needs at least one evidence quote")
        if self.verdict is Verdict.supported_by_attribution and not self.attribution:
            raise ValueError(
                "supported_by_attribution needs the attribution: the article's words naming "
                "the source; without them the claim is in the article's own voice"
            )
        return self


class SupportAssessment(BaseModel):
    """Verdicts for every claim of one article."""

    model_config = ConfigDict(extra="forbid")

    verdicts: list[SupportVerdict] = Field(description="one verdict per claim, in claim order")

    _keep = field_validator("verdicts", mode="wrap")(keep_valid_items)
