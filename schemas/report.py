"""The report: every stage's output plus what the run cost and how it was produced."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.article import Article
from schemas.bias import BiasAssessment
from schemas.claims import Claim
from schemas.sentence import Sentence
from schemas.summary import Summary
from schemas.support import SupportVerdict


class StageMetrics(BaseModel):
    """Calls, tokens (re-asks included), cost and time of one stage."""

    model_config = ConfigDict(extra="forbid")

    stage: str
    prompt_hash: str | None = Field(None, description="sha256 of the stage's prompt templates")
    calls: int = 0
    reasks: int = 0
    transport_retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = Field(None, description="None when the provider's price is unknown")
    seconds: float = 0.0
    cached: bool = Field(False, description="answered from the stage cache: no call this run")
    quote_repairs: int = Field(0, description="near-miss quotes snapped to the article's span")
    dropped_items: int = Field(0, description="items dropped because they failed validation")
    dropped_reasons: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(
        default_factory=list, description="style rules still broken after the re-ask budget"
    )


class ClaimAudit(BaseModel):
    """A claim joined with its support verdict (None if the model gave none)."""

    model_config = ConfigDict(extra="forbid")

    number: int
    claim: Claim
    verdict: SupportVerdict | None


class ArticleReport(BaseModel):
    """One article's audit, as written to JSON and rendered to Markdown."""

    model_config = ConfigDict(extra="forbid")

    newsaudit_version: str
    created_at: str
    model: str
    provider: str
    instructor_mode: str
    calibration: str | None = Field(
        None,
        description="the weights that read the model's sentence answers: shipped (and the "
        "model they were fitted on) or a `newsaudit calibrate` profile (its file, date, size "
        "and out-of-fold macro-F1)",
    )
    article: Article
    summary: Summary
    sentences: list[Sentence] = Field(description="every body sentence, labelled and scored")
    unsupported: list[int] = Field(
        description="the strong unsupported assertions (fact_unsupported, opinion, "
        "speculation and attributed_unnamed sentences at strength 0.5 or more), strongest first"
    )
    unsupported_mild: list[int] = Field(
        default_factory=list,
        description="the other unsupported assertions (hedged interpretation, plain "
        "background), strongest first: shown folded",
    )
    claims: list[ClaimAudit]
    bias: BiasAssessment
    stages: list[StageMetrics]
    prompt_hashes: dict[str, str]
    seconds_total: float

    @property
    def unsupported_claims(self) -> list[ClaimAudit]:
        """Claims whose verdict says the article does not back them."""
        return [c for c in self.claims if c.verdict is not None and not c.verdict.verdict.supported]

    def sentence(self, number: int) -> Sentence:
        """The body sentence with this number."""
        return self.sentences[number - 1]

    def totals(self) -> StageMetrics:
        """Sum of every stage's metrics."""
        total = StageMetrics(stage="total")
        for s in self.stages:
            total.calls += s.calls
            total.reasks += s.reasks
            total.transport_retries += s.transport_retries
            total.prompt_tokens += s.prompt_tokens
            total.completion_tokens += s.completion_tokens
            total.seconds += s.seconds
            total.quote_repairs += s.quote_repairs
            total.dropped_items += s.dropped_items
            if s.cost_usd is not None:
                total.cost_usd = (total.cost_usd or 0.0) + s.cost_usd
        return total
