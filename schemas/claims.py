"""Output of the claims stage."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from schemas.evidence import Quote, keep_valid_items


class ClaimType(StrEnum):
    """What kind of statement a claim is."""

    reported_fact = "reported_fact"
    quote = "quote"
    statistic = "statistic"
    prediction = "prediction"
    opinion = "opinion"


class Claim(BaseModel):
    """One check-worthy factual claim, standalone and anchored to a verbatim quote."""

    model_config = ConfigDict(extra="forbid")

    quote: Quote = Field(
        description="the exact sentence or clause from the article, copied verbatim"
    )
    claim: str = Field(
        description="what the quote claims, as one standalone sentence with names spelled out "
        "(no 'he', 'it', 'this')"
    )
    speaker: str | None = Field(
        description="who asserts it: the named person or outlet quoted, or null if the article "
        "itself asserts it"
    )
    type: ClaimType = Field(
        description="reported_fact, quote (words of a named person), statistic, prediction, opinion"
    )


class ClaimList(BaseModel):
    """The check-worthy claims of one article, in article order."""

    model_config = ConfigDict(extra="forbid")

    claims: list[Claim] = Field(description="check-worthy claims in article order")

    _keep = field_validator("claims", mode="wrap")(keep_valid_items)

    @field_validator("claims")
    @classmethod
    def _distinct_quotes(cls, claims: list[Claim], info: ValidationInfo) -> list[Claim]:
        context = info.context
        if context is None or context.get("drop_invalid"):
            return claims  # salvage keeps them all; the stage keeps the first of each quote
        seen: set[str] = set()
        for number, claim in enumerate(claims, start=1):
            key = " ".join(claim.quote.casefold().split())
            if key in seen:
                raise ValueError(f"claim {number} repeats an earlier quote; give each its own")
            seen.add(key)
        return claims
