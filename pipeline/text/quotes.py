"""Quote verification: every quote the model returns must be a span of the article."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

_QUOTE_MARKS = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "«": '"',
        "»": '"',
        "–": "-",
        "—": "-",
        "‒": "-",
        "―": "-",
        "−": "-",
    }
)
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}
MIN_FUZZY_CHARS = 25  # below this one edit can flip the meaning


def normalize(text: str) -> tuple[str, list[int]]:
    """Normalise for matching (NFKC, casefold, quote marks, dashes, whitespace runs).

    Returns the normalised string and, for each of its characters, the index of the original
    character it came from, so a match can be mapped back to the article's own span.
    """
    out: list[str] = []
    index: list[int] = []
    pending_space = False
    for i, char in enumerate(text):
        if char in _INVISIBLE:
            continue
        if char.isspace():
            pending_space = bool(out)
            continue
        piece = unicodedata.normalize("NFKC", char).casefold().translate(_QUOTE_MARKS)
        if pending_space:
            out.append(" ")
            index.append(i - 1)
            pending_space = False
        for sub in piece:
            if sub.isspace():
                continue
            out.append(sub)
            index.append(i)
    return "".join(out), index


# Every stage of an article checks quotes against the same text: normalise it once.
_normalize_article = lru_cache(maxsize=512)(normalize)


@dataclass
class QuoteStats:
    """What happened to the quotes of one model response."""

    verified: int = 0
    repaired: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class ArticleQuotes:
    """Checks quotes against one article's text and snaps near misses to the real span."""

    def __init__(self, text: str, snap_threshold: float = 90.0) -> None:
        self.text = text
        self.snap_threshold = snap_threshold
        self._norm, self._index = _normalize_article(text)
        self.stats = QuoteStats()

    def reset(self) -> None:
        """Start counting afresh (called before each attempt of a model call)."""
        self.stats = QuoteStats()

    def _span(self, start: int, end: int) -> str:
        return self.text[self._index[start] : self._index[end - 1] + 1]

    def find(self, quote: str) -> str | None:
        """The article's span for the quote after normalisation, or None."""
        needle, _ = normalize(quote)
        needle = needle.strip(" .,;:")
        if not needle:
            return None
        start = self._norm.find(needle)
        if start < 0:
            return None
        return self._span(start, start + len(needle))

    def snap(self, quote: str) -> str | None:
        """The closest article span if it is similar enough to be the same words, else None."""
        needle, _ = normalize(quote)
        needle = needle.strip(" .,;:")
        if len(needle) < MIN_FUZZY_CHARS:
            return None
        hit = fuzz.partial_ratio_alignment(needle, self._norm, score_cutoff=self.snap_threshold)
        if hit is None or hit.dest_end <= hit.dest_start:
            return None
        length = hit.dest_end - hit.dest_start
        if not 0.8 <= length / len(needle) <= 1.25:
            return None
        start, end = self._index[hit.dest_start], self._index[hit.dest_end - 1] + 1
        # The alignment can start or stop inside a word; a quote is whole words.
        while start > 0 and self.text[start - 1].isalnum():
            start -= 1
        while end < len(self.text) and self.text[end].isalnum():
            end += 1
        return self.text[start:end].lstrip(" .,;:").rstrip(" ,;:")

    def verify(self, quote: str) -> str:
        """Return the article's own span for the quote, or raise ValueError naming the quote."""
        exact = self.find(quote)
        if exact is not None:
            self.stats.verified += 1
            return exact
        snapped = self.snap(quote)
        if snapped is not None:
            self.stats.verified += 1
            self.stats.repaired.append((quote, snapped))
            return snapped
        self.stats.rejected.append(quote)
        shown = quote if len(quote) <= 120 else quote[:117] + "..."
        raise ValueError(
            f"quote not found in the article: {shown!r}; copy the words exactly as the article "
            "has them, or leave this item out"
        )
