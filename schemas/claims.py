"""Output of the claims stage."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

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

    claim: str = Field(
        description="the claim as one standalone sentence, names spelled out (no 'he', 'it')"
    )
    quote: Quote = Field(
        description="the exact sentence or phrase from the article, copied verbatim"
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

    claims: list[Claim] = Field(description="check-worthy claims, most important first")

    _keep = field_validator("claims", mode="wrap")(keep_valid_items)
