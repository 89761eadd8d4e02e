"""Statements checked against an article: summary points, headlines, anything an editor pastes."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.evidence import keep_valid_items


class Support(StrEnum):
    """Whether the article says what a statement says."""

    supported = "supported"
    not_supported = "not_supported"
    contradicted = "contradicted"


class StatementCheck(BaseModel):
    """One statement's verdict, its probability and the sentences it was checked against."""

    model_config = ConfigDict(extra="forbid")

    statement: str
    verdict: Support
    probability: float = Field(ge=0, le=1, description="P(the article supports it)")
    threshold: float = Field(description="the probability at which it counts as supported")
    evidence: list[int] = Field(description="the article's sentences it was checked against")
    evidence_text: list[str] = Field(description="those sentences, exactly as the article has them")
    problems: list[str] = Field(
        default_factory=list, description="what the alignment checks found: missing numbers, ..."
    )
    model: dict[str, float] | None = Field(
        None,
        description="the model's probability that the evidence supports, contradicts or "
        "does not say it; None without one",
    )
    restated: bool = Field(
        False,
        description="it restates one evidence sentence nearly word for word, every number, "
        "date and name in place: supported whatever the probability",
    )
    unbacked: list[str] = Field(
        default_factory=list,
        description="numbers, dates and names it gives that the whole article never does: not "
        "supported whatever the probability",
    )


class StatementJudgment(BaseModel):
    """The model's verdict on one numbered statement (providers without log-probabilities)."""

    model_config = ConfigDict(extra="forbid")

    statement: int = Field(description="the statement's number")
    verdict: Support


class StatementJudgments(BaseModel):
    """The model's answer: one verdict per numbered statement."""

    model_config = ConfigDict(extra="forbid")

    judgments: list[StatementJudgment] = Field(description="one per statement, in order")

    _keep = field_validator("judgments", mode="wrap")(keep_valid_items)


class Rewrite(BaseModel):
    """A summary point written again from its sentences only."""

    model_config = ConfigDict(extra="forbid")

    point: int = Field(description="the point's number")
    text: str = Field(description="the point again, saying only what its sentences say")


class Rewrites(BaseModel):
    """The model's answer: one rewrite per numbered point."""

    model_config = ConfigDict(extra="forbid")

    points: list[Rewrite]

    _keep = field_validator("points", mode="wrap")(keep_valid_items)


class Faithfulness(BaseModel):
    """How the summary fared against the article."""

    model_config = ConfigDict(extra="forbid")

    checked: int
    supported: int
    rewritten: int
    dropped: int


class VerifyReport(BaseModel):
    """`newsaudit verify`: statements checked against one article."""

    model_config = ConfigDict(extra="forbid")

    article_id: str
    source: str | None
    title: str | None
    model: str
    checks: list[StatementCheck]
    headline: StatementCheck | None = None
    warnings: list[str] = Field(
        default_factory=list, description="what the reader should know about these verdicts"
    )
    calls: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
