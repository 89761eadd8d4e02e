"""The cleaned article that every LLM stage reads."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field


class Article(BaseModel):
    """Title, byline, date and body paragraphs, with scraped boilerplate removed."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="caller's id, else the file name")
    source: str | None = Field(None, description="file path or outlet the article came from")
    url: str | None = None
    title: str | None = None
    byline: str | None = None
    published: str | None = Field(None, description="date as found, ISO 8601 when parseable")
    language: str | None = Field(None, description="detected ISO 639-1 code of the body")
    language_confidence: float | None = Field(None, description="0-1, of the detection")
    paragraphs: list[str] = Field(description="body paragraphs in order (headings included)")
    removed: list[str] = Field(default_factory=list, description="lines dropped as boilerplate")

    @property
    def body(self) -> str:
        """The body text, paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)

    @property
    def text(self) -> str:
        """Headline plus body: the text that quotes are verified against."""
        return f"{self.title}\n\n{self.body}" if self.title else self.body

    @property
    def content_hash(self) -> str:
        """sha256 of the text the stages see."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()
