"""Splitting an article too long for one call into parts of whole sentences, and adding up
a stage's metrics over the parts. Each stage merges its own outputs (``merge_*`` in its module).

A part is a run of consecutive sentences, cut at a paragraph break where one falls in the
second half of the budget, else between sentences, so the parts joined give back every
sentence in order: nothing is dropped. A sentence longer than the budget is a part of its
own. An article needing more parts than the configured cap is refused with an input error.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.text.sentences import Segment
from schemas.report import StageMetrics

CHARS_PER_TOKEN = 4  # provider-independent; exact counts would need each model's tokenizer
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


def split_segments(segments: Sequence[Segment], max_tokens: int) -> list[list[Segment]]:
    """Consecutive runs of sentences of at most ``max_tokens`` each (a longer sentence alone)."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    parts: list[list[Segment]] = []
    current: list[Segment] = []
    used = 0
    for seg in segments:
        cost = estimate_tokens(seg.text)
        while current and used + cost > max_tokens:
            cut = _paragraph_cut(current, max_tokens)
            parts.append(current[:cut])
            current = current[cut:]
            used = sum(estimate_tokens(s.text) for s in current)
        current.append(seg)
        used += cost
    if current or not parts:
        parts.append(current)
    return parts


def _paragraph_cut(run: list[Segment], max_tokens: int) -> int:
    """Where to end a full part: the last paragraph start in its second half, else its end."""
    used = 0
    best = len(run)
    for n, seg in enumerate(run):
        if n and seg.paragraph != run[n - 1].paragraph and used >= max_tokens // 2:
            best = n
        used += estimate_tokens(seg.text)
    return best


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
        merged.warnings += list(dict.fromkeys(w for w in m.warnings if w not in merged.warnings))
    # served from the cache: some part was, and no part made a call (a part that needed no
    # call, such as an unchecked headline, does not count against it)
    merged.cached = any(m.cached for m in metrics) and all(m.cached or not m.calls for m in metrics)
    return merged
