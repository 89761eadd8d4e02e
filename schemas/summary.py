"""Output of the summarize stage."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from schemas.evidence import same_text, style_problem

MAX_PARAGRAPH_WORDS = 120


class Summary(BaseModel):
    """Points, a neutral title and a short paragraph, faithful to the body, not the headline.

    The title comes after the points so the model writes it from the body's facts rather
    than echoing the headline it has just read.
    """

    model_config = ConfigDict(extra="forbid")

    bullets: list[str] = Field(
        min_length=2,
        max_length=5,
        description="2-5 factual points from the body, each under 25 words",
    )
    neutral_title: str = Field(
        description="a plain title for the points above, stating what the body reports; "
        "do not copy the original headline; no exclamation marks, questions or judgement words"
    )
    paragraph: str = Field(
        description="at most 80 words in your own words (do not copy the article's sentences); "
        "say who said what; no judgement, no speculation"
    )

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

    @field_validator("paragraph")
    @classmethod
    def _paragraph_is_short(cls, value: str, info: ValidationInfo) -> str:
        words = len(value.split())
        if words > MAX_PARAGRAPH_WORDS:
            problem = f"paragraph has {words} words; write at most 80"
            return style_problem(value, info, problem, reask=False)
        return value
