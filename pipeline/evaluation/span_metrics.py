"""Metrics for span tagging (numpy only): span recall, span precision, F1 and false alarms,
each with a bootstrap interval over the sentences.

A span is ``(start, end)``, character offsets into its sentence, end exclusive. Two spans
overlap when they have at least one character in common. Per sentence we count its gold spans,
those overlapped by some predicted span, its predicted spans, and those overlapping some gold
span; the metrics pool these counts over the sentences (of the set, or of a resample):

- span recall = gold spans overlapped / gold spans;
- span precision = predicted spans overlapping gold / predicted spans;
- F1 = the harmonic mean of the two (0 when both are 0);
- false alarms = share of the sentences without gold spans that get a predicted span.

A metric whose denominator is 0 (no gold spans, no predicted spans, no sentence without gold
spans) is undefined: ``ValueError``, shown as n/a in the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.evaluation.metrics import Estimate, resample_ci

Span = tuple[int, int]
CountsMetric = Callable[[np.ndarray], float]

# The columns of the per-sentence counts.
GOLD, GOLD_HIT, PREDICTED, PREDICTED_HIT = range(4)


def overlaps(a: Span, b: Span) -> bool:
    """Whether two spans share at least one character."""
    return a[0] < b[1] and b[0] < a[1]


def sentence_counts(gold: Sequence[Span], predicted: Sequence[Span]) -> tuple[int, int, int, int]:
    """(gold spans, gold spans overlapped, predicted spans, predicted spans overlapping gold)."""
    gold_hit = sum(any(overlaps(g, p) for p in predicted) for g in gold)
    predicted_hit = sum(any(overlaps(p, g) for g in gold) for p in predicted)
    return len(gold), gold_hit, len(predicted), predicted_hit


def count_table(gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]]) -> np.ndarray:
    """The counts of every sentence, one row each (columns GOLD .. PREDICTED_HIT)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    if not gold:
        raise ValueError("no sentences to score")
    rows = [sentence_counts(g, p) for g, p in zip(gold, predicted, strict=True)]
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), 4)


def _ratio(hits: int, total: int, what: str) -> float:
    if total == 0:
        raise ValueError(f"no {what}")
    return hits / total


def span_recall(counts: np.ndarray) -> float:
    """Gold spans overlapped by some predicted span / gold spans."""
    return _ratio(int(counts[:, GOLD_HIT].sum()), int(counts[:, GOLD].sum()), "gold spans")


def span_precision(counts: np.ndarray) -> float:
    """Predicted spans overlapping some gold span / predicted spans."""
    hits, total = int(counts[:, PREDICTED_HIT].sum()), int(counts[:, PREDICTED].sum())
    return _ratio(hits, total, "predicted spans")


def span_f1(counts: np.ndarray) -> float:
    """The harmonic mean of span precision and recall (of the same pooled counts)."""
    precision, recall = span_precision(counts), span_recall(counts)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def false_alarm_rate(counts: np.ndarray) -> float:
    """Share of the sentences without gold spans that get at least one predicted span."""
    clean = counts[:, GOLD] == 0
    flagged = int(np.sum(clean & (counts[:, PREDICTED] > 0)))
    return _ratio(flagged, int(clean.sum()), "sentences without gold spans")


def span_estimate(metric: CountsMetric, counts: np.ndarray, n_boot: int, seed: int) -> Estimate:
    """The metric over all sentences with its bootstrap interval (sentences resampled);
    None where it is undefined, no interval where every resample is."""
    try:
        value = metric(counts)
    except ValueError:
        return Estimate(None)
    if n_boot <= 0:
        return Estimate(value)
    try:
        low, high = resample_ci(lambda rows: metric(counts[rows]), len(counts), n_boot, seed)
    except ValueError:
        return Estimate(value)
    return Estimate(value, low, high)


@dataclass(frozen=True)
class SpanSummary:
    """What `newsaudit eval --task spans` reports."""

    n: int  # sentences
    with_gold: int  # sentences with at least one gold span
    gold: int  # gold spans
    gold_hit: int  # of them overlapped by a predicted span
    predicted: int  # predicted spans kept (score >= threshold)
    predicted_hit: int  # of them overlapping a gold span
    flagged_clean: int  # sentences without gold spans given a predicted span
    threshold: float
    recall: Estimate
    precision: Estimate
    f1: Estimate
    false_alarms: Estimate


def summarize_spans(
    gold: Sequence[Sequence[Span]],
    predicted: Sequence[Sequence[Span]],
    threshold: float,
    n_boot: int = 1000,
    seed: int = 0,
) -> SpanSummary:
    """Every span metric, from each sentence's gold spans and its predicted spans (those kept
    at ``threshold``, which is only reported here)."""
    counts = count_table(gold, predicted)
    clean = counts[:, GOLD] == 0
    return SpanSummary(
        n=len(counts),
        with_gold=int((~clean).sum()),
        gold=int(counts[:, GOLD].sum()),
        gold_hit=int(counts[:, GOLD_HIT].sum()),
        predicted=int(counts[:, PREDICTED].sum()),
        predicted_hit=int(counts[:, PREDICTED_HIT].sum()),
        flagged_clean=int(np.sum(clean & (counts[:, PREDICTED] > 0))),
        threshold=threshold,
        recall=span_estimate(span_recall, counts, n_boot, seed),
        precision=span_estimate(span_precision, counts, n_boot, seed),
        f1=span_estimate(span_f1, counts, n_boot, seed),
        false_alarms=span_estimate(false_alarm_rate, counts, n_boot, seed),
    )


def render_span_summary(summary: SpanSummary) -> str:
    """The summary as a short Markdown table, readable as plain text in a terminal."""
    s = summary
    clean = s.n - s.with_gold
    lines = [
        f"task spans: n = {s.n} sentences ({s.with_gold} with gold spans, {clean} without), "
        f"{s.gold} gold spans, {s.predicted} predicted spans, threshold {s.threshold:g}",
        "",
        "| metric | value | 95% interval | counts |",
        "|---|---|---|---|",
    ]
    for name, value, counts in (
        ("span recall", s.recall, f"{s.gold_hit} of {s.gold} gold spans overlapped"),
        ("span precision", s.precision, f"{s.predicted_hit} of {s.predicted} predicted overlap"),
        ("span F1", s.f1, ""),
        ("false alarms", s.false_alarms, f"{s.flagged_clean} of {clean} sentences without gold"),
    ):
        lines.append("| {} | {} | {} | {} |".format(name, *value.render(), counts))
    return "\n".join(lines) + "\n"
