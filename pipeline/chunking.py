"""Splitting an article too long for one call into parts, and merging the parts' stage outputs.

A part is a contiguous slice of the body, cut at the strongest boundary available (paragraph
break, then sentence end, then whitespace, then anywhere), so the parts joined give back the
body exactly: nothing is dropped or truncated. An article needing more parts than the
configured cap is refused with an input error that says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from schemas.article import Article
from schemas.bias import BiasAssessment, BiasKind, Slant
from schemas.report import StageMetrics
from schemas.summary import Summary

CHARS_PER_TOKEN = 4  # provider-independent; exact counts would need each model's tokenizer
BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"(?<=[.!?…])\s+"), re.compile(r"\s+"))
SLANT_ORDER = [Slant.neutral, Slant.slightly_slanted, Slant.strongly_slanted]
MAX_BULLETS = 5
METRIC_COUNTS = (
    "calls",
    "reasks",
    "transport_retries",
    "prompt_tokens",
    "completion_tokens",
    "quote_repairs",
    "dropped_items",
)


def estimate_tokens(text: str) -> int:
    """A rough token count (characters / 4)."""
    return len(text) // CHARS_PER_TOKEN + 1


def _cut(text: str, limit: int) -> int:
    """Where to end the first piece of ``text``: the last strong boundary within ``limit``."""
    window = text[:limit]
    for boundary in BOUNDARIES:
        ends = [m.end() for m in boundary.finditer(window) if m.end() < len(text)]
        if ends and ends[-1] > 0:
            return ends[-1]
    return limit


def split_text(text: str, max_chars: int) -> list[str]:
    """Contiguous pieces of at most ``max_chars`` characters; ``"".join(pieces) == text``."""
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    pieces: list[str] = []
    rest = text
    while len(rest) > max_chars:
        end = _cut(rest, max_chars)
        pieces.append(rest[:end])
        rest = rest[end:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def split_article(article: Article, max_tokens: int) -> list[Article]:
    """The article itself when it fits, else one Article per part (same title and metadata)."""
    body = article.body
    if estimate_tokens(body) <= max_tokens:
        return [article]
    parts = []
    for piece in split_text(body, max_tokens * CHARS_PER_TOKEN):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", piece) if p.strip()]
        if paragraphs:
            parts.append(article.model_copy(update={"paragraphs": paragraphs}))
    return parts


def merge_metrics(stage: str, metrics: Sequence[StageMetrics]) -> StageMetrics:
    """One stage's metrics over all parts: counts and costs add up, notes are kept."""
    if len(metrics) == 1:
        return metrics[0]
    merged = StageMetrics(stage=stage, prompt_hash=metrics[0].prompt_hash if metrics else None)
    for m in metrics:
        for name in METRIC_COUNTS:
            setattr(merged, name, getattr(merged, name) + getattr(m, name))
        merged.seconds = round(merged.seconds + m.seconds, 3)
        if m.cost_usd is not None:
            merged.cost_usd = (merged.cost_usd or 0.0) + m.cost_usd
        merged.dropped_reasons += m.dropped_reasons
        merged.warnings += m.warnings
    merged.cached = bool(metrics) and all(m.cached for m in metrics)
    return merged


def merge_summaries(summaries: Sequence[Summary]) -> Summary:
    """Bullets taken in turn from each part (at most five), the first part's title, and the
    parts' paragraphs in order."""
    if len(summaries) == 1:
        return summaries[0]
    bullets: list[str] = []
    for rank in range(max(len(s.bullets) for s in summaries)):
        bullets += [s.bullets[rank] for s in summaries if rank < len(s.bullets)]
    return Summary(
        bullets=bullets[:MAX_BULLETS],
        neutral_title=summaries[0].neutral_title,
        paragraph=" ".join(s.paragraph for s in summaries),
    )


def merge_bias(assessments: Sequence[BiasAssessment]) -> BiasAssessment:
    """Every part's findings, the most slanted overall verdict, and headline/body mismatches
    only where every part found the headline unreported (one part alone cannot tell)."""
    if len(assessments) == 1:
        return assessments[0]
    mismatch_everywhere = all(
        any(f.kind is BiasKind.headline_body_mismatch for f in a.findings) for a in assessments
    )
    findings = []
    for number, assessment in enumerate(assessments):
        for finding in assessment.findings:
            if finding.kind is BiasKind.headline_body_mismatch and (
                number > 0 or not mismatch_everywhere
            ):
                continue
            findings.append(finding)
    first = assessments[0]
    return BiasAssessment(
        headline_claims=first.headline_claims,
        neutral_headline=first.neutral_headline,
        findings=findings,
        overall=max((a.overall for a in assessments), key=SLANT_ORDER.index),
        assessment=" ".join(
            f"Part {n}: {a.assessment}" for n, a in enumerate(assessments, start=1)
        ),
    )
