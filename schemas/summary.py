"""Output of the summarize stage: points grounded in numbered sentences, and a neutral title."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from schemas.evidence import SentenceRef, keep_valid_items, same_text, style_problem
from schemas.verification import Faithfulness, StatementCheck

MAX_POINT_WORDS = 30


class DraftPoint(BaseModel):
    """One point as the model writes it: its words and the sentences it rests on."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="one factual point from the body, under 20 words")
    sentences: list[SentenceRef] = Field(
        min_length=1, max_length=3, description="the numbers of the sentences it comes from"
    )

    @field_validator("text")
    @classmethod
    def _short(cls, value: str, info: ValidationInfo) -> str:
        words = len(value.split())
        if words > MAX_POINT_WORDS:
            problem = f"point has {words} words; write at most 20"
            return style_problem(value, info, problem, reask=False)
        return value


class SummaryDraft(BaseModel):
    """The model's answer: points first, so the title is written from the body's facts rather
    than echoing the headline it has just read."""

    model_config = ConfigDict(extra="forbid")

    points: list[DraftPoint] = Field(
        min_length=2, max_length=4, description="2-4 main points of the body, each once"
    )
    neutral_title: str = Field(
        description="a plain title for the points, stating what the body reports; do not copy "
        "the headline; no exclamation marks, questions or judgement words"
    )

    _keep = field_validator("points", mode="wrap")(keep_valid_items)

    @field_validator("neutral_title")
    @classmethod
    def _title_is_neutral(cls, value: str, info: ValidationInfo) -> str:
        headline = (info.context or {}).get("headline") or ""
        if value.rstrip().endswith(("!", "?")):
            problem = "neutral_title must be a statement, not ! or ?"
            return style_problem(value, info, problem, reask=False)
        if headline and same_text(value, headline):
            problem = "neutral_title must not copy the original headline"
            return style_problem(value, info, problem, reask=False)
        return value


class SummaryBullet(BaseModel):
    """A summary point with the sentences it cites and its check against the article."""

    model_config = ConfigDict(extra="forbid")

    text: str
    sentences: list[int] = Field(description="numbers of the body sentences it rests on")
    check: StatementCheck | None = Field(None, description="the point checked against them")
    rewritten_from: str | None = Field(
        None, description="the model's first wording, when the check sent it back once"
    )


class Summary(BaseModel):
    """Points and a neutral title, each point grounded in numbered sentences of the body and
    checked against them; points that failed the check twice are listed as dropped."""

    model_config = ConfigDict(extra="forbid")

    bullets: list[SummaryBullet]
    neutral_title: str
    dropped: list[SummaryBullet] = Field(default_factory=list)
    faithfulness: Faithfulness | None = None
