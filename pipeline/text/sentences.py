"""Numbered sentences of an article's body, with character offsets, from pysbd's segmenter.

Each body paragraph is segmented on its own, so no sentence spans two paragraphs (a heading
stays a sentence of its own). Offsets index ``Article.body``; ``body[start:end]`` is always the
sentence's text, whatever pysbd did to whitespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import pysbd
from pysbd.languages import LANGUAGE_CODES

from schemas.article import Article

PARAGRAPH_SEPARATOR = "\n\n"  # how Article.body joins paragraphs


@dataclass(frozen=True)
class Segment:
    """A sentence before it is labelled: its number, where it is and what it says."""

    id: int
    start: int
    end: int
    text: str
    paragraph: int

    @property
    def heading(self) -> bool:
        """A short line with no sentence-final punctuation: a section heading or a caption."""
        return not self.text.rstrip("\"'”’)]").endswith((".", "!", "?", "…", ":")) and (
            len(self.text.split()) <= 14
        )


@cache
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False)


def split_sentences(text: str, language: str = "en") -> list[tuple[int, int]]:
    """(start, end) of each sentence of one paragraph, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in _segmenter(language).segment(text):
        stripped = piece.strip()
        if not stripped:
            continue
        start = text.find(stripped, cursor)
        if start < 0:  # pysbd changed the text: fall back to its own running position
            start = cursor + len(piece) - len(piece.lstrip())
            stripped = text[start : start + len(stripped)]
        end = start + len(stripped)
        if spans and not any(c.isalnum() for c in stripped):
            spans[-1] = (spans[-1][0], end)  # a stray closing quote or bracket ends the last one
        else:
            spans.append((start, end))
        cursor = end
    return spans


def numbered_text(segments: Sequence[Segment]) -> str:
    """The sentences as the model sees them: "[n] text", paragraphs apart by a blank line."""
    paragraphs: list[list[str]] = []
    last = None
    for seg in segments:
        if seg.paragraph != last:
            paragraphs.append([])
            last = seg.paragraph
        paragraphs[-1].append(f"[{seg.id}] {seg.text}")
    return PARAGRAPH_SEPARATOR.join(" ".join(p) for p in paragraphs)


def whole(text: str) -> list[Segment]:
    """One text taken as a single sentence (an evaluation row, a headline)."""
    return [Segment(id=1, start=0, end=len(text), text=text, paragraph=0)]


def segment(article: Article) -> list[Segment]:
    """Every sentence of the body, numbered from 1, with offsets into ``article.body``."""
    language = article.language or "en"
    language = language if language in LANGUAGE_CODES else "en"
    out: list[Segment] = []
    offset = 0
    for number, paragraph in enumerate(article.paragraphs):
        for start, end in split_sentences(paragraph, language):
            out.append(
                Segment(
                    id=len(out) + 1,
                    start=offset + start,
                    end=offset + end,
                    text=paragraph[start:end],
                    paragraph=number,
                )
            )
        offset += len(paragraph) + len(PARAGRAPH_SEPARATOR)
    return out
