"""Output of the claims stage: check-worthy sentences, each restated as a standalone claim."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from schemas.evidence import SentenceRef, keep_valid_items


class ClaimType(StrEnum):
    """What kind of statement a claim is."""

    reported_fact = "reported_fact"
    quote = "quote"
    statistic = "statistic"
    prediction = "prediction"
    opinion = "opinion"


class ClaimPick(BaseModel):
    """One check-worthy sentence, as the model picks it."""

    model_config = ConfigDict(extra="forbid")

    sentence: SentenceRef = Field(description="the number of the sentence that makes the claim")
    claim: str = Field(
        description="what it claims, as one standalone sentence of at most 20 words, names "
        "spelled out (no 'he', 'it', 'this')"
    )


class ClaimPicks(BaseModel):
    """The model's answer: the check-worthy sentences of one article, in article order."""

    model_config = ConfigDict(extra="forbid")

    claims: list[ClaimPick] = Field(description="check-worthy sentences in article order")

    _keep = field_validator("claims", mode="wrap")(keep_valid_items)

    @field_validator("claims")
    @classmethod
    def _distinct_sentences(cls, claims: list[ClaimPick], info: ValidationInfo) -> list[ClaimPick]:
        if info.context is None or info.context.get("drop_invalid"):
            return claims  # salvage keeps them all; the stage keeps the first of each sentence
        seen: set[int] = set()
        for claim in claims:
            if claim.sentence in seen:
                raise ValueError(f"sentence {claim.sentence} is picked twice; pick each once")
            seen.add(claim.sentence)
        return claims


class Claim(BaseModel):
    """One check-worthy claim: the sentence that makes it (cut from the body by code), the
    claim restated on its own, who asserts it and what kind of statement it is."""

    model_config = ConfigDict(extra="forbid")

    sentence: int = Field(description="number of the body sentence")
    quote: str = Field(description="the sentence, exactly as the article has it")
    claim: str = Field(description="the claim as one standalone sentence")
    speaker: str | None = Field(
        description="who asserts it, in the article's words; None when the article does"
    )
    type: ClaimType
