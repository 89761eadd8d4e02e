"""Output of the summarize stage."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Summary(BaseModel):
    """A neutral title and a short summary faithful to the body, not the headline."""

    model_config = ConfigDict(extra="forbid")

    neutral_title: str = Field(
        description="a plain, non-sensational title stating what the body reports"
    )
    bullets: list[str] = Field(
        min_length=2,
        max_length=5,
        description="2-5 factual points from the body, each under 25 words",
    )
    paragraph: str = Field(
        description="at most 80 words in your own words (do not copy the article's sentences); "
        "say who said what; no judgement, no speculation"
    )
