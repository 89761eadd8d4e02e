"""The span metrics of `newsaudit eval --task spans` (`pipeline.evaluation.span_metrics`)
against hand-computed figures on a tiny set; the set here is the one the runner and the
command are run on in test_eval_spans.py."""

from __future__ import annotations

import pytest

from pipeline.evaluation.span_metrics import (
    count_table,
    false_alarm_rate,
    overlaps,
    render_span_summary,
    sentence_counts,
    span_f1,
    span_precision,
    span_recall,
    summarize_spans,
)
from pipeline.evaluation.spans import Prediction


def at(text: str, words: str) -> list[int]:
    """The [start, end] of ``words`` in ``text``."""
    start = text.index(words)
    return [start, start + len(words)]


# A tiny hand-made set. Gold spans, and the scorer's spans with their scores:
#   a: gold "stunning", "triumph"; tagged "stunning triumph" 0.9 -> both gold overlapped by one.
#   b: gold "slammed", "reckless"; tagged "slamm" 0.7 (part of a gold span), "deal" 0.6 (none).
#   c: no gold; tagged "met" 0.8 -> a false alarm.
#   d: no gold; tagged "Rain" 0.3 -> below 0.5, not kept.
#   e: gold "shocking"; nothing tagged.
# At threshold 0.5: gold 5, overlapped 3 (a: 2, b: 1) -> recall 3/5;
#   predicted 4 (a 1, b 2, c 1), overlapping gold 2 (a, b's "slamm") -> precision 2/4;
#   F1 = 2 * 1/2 * 3/5 / (1/2 + 3/5) = 6/11; false alarms: c of {c, d} -> 1/2.
# At 0.65 ("deal" dropped): precision 2/3, recall 3/5, F1 = 12/19, false alarms 1/2.
# At 0.2 ("Rain" kept): precision 2/5, recall 3/5, F1 = 12/25, false alarms 2/2.
TEXTS = {
    "a": "Officials called the outcome a stunning triumph for the city.",
    "b": "Critics slammed the deal as reckless.",
    "c": "The council met on Tuesday.",
    "d": "Rain is expected later this week.",
    "e": "Her shocking remarks drew applause.",
}
GOLD = {
    "a": [at(TEXTS["a"], "stunning"), at(TEXTS["a"], "triumph")],
    "b": [at(TEXTS["b"], "slammed"), at(TEXTS["b"], "reckless")],
    "c": [],
    "d": [],
    "e": [at(TEXTS["e"], "shocking")],
}


def tag(key: str, words: str, probability: float) -> Prediction:
    start, end = at(TEXTS[key], words)
    return start, end, probability


TAGGED: dict[str, list[Prediction]] = {
    "a": [tag("a", "stunning triumph", 0.9)],
    "b": [tag("b", "slamm", 0.7), tag("b", "deal", 0.6)],
    "c": [tag("c", "met", 0.8)],
    "d": [tag("d", "Rain", 0.3)],
    "e": [],
}
IDS = list(TEXTS)


def predicted_at(threshold: float) -> list[list[tuple[int, int]]]:
    return [
        [(s, e) for s, e, p in TAGGED[i] if p >= threshold]  # the rule kept() follows
        for i in IDS
    ]


def gold_spans() -> list[list[tuple[int, int]]]:
    return [[(s, e) for s, e in GOLD[i]] for i in IDS]


# The metrics ----------------------------------------------------------------------------------


def test_overlap_needs_a_shared_character() -> None:
    assert overlaps((0, 5), (4, 8)) and overlaps((4, 8), (0, 5))
    assert overlaps((2, 3), (0, 10))  # inside
    assert not overlaps((0, 5), (5, 8))  # touching ends share no character
    gold, tagged = [(0, 4), (10, 14)], [(3, 11), (20, 22)]
    assert sentence_counts(gold, tagged) == (2, 2, 2, 1)  # one tagged span covers both


def test_metrics_by_hand_at_three_thresholds() -> None:
    for threshold, precision, f1, alarms in (
        (0.5, 2 / 4, 6 / 11, 1 / 2),
        (0.65, 2 / 3, 12 / 19, 1 / 2),
        (0.2, 2 / 5, 12 / 25, 2 / 2),
    ):
        counts = count_table(gold_spans(), predicted_at(threshold))
        assert span_recall(counts) == pytest.approx(3 / 5)
        assert span_precision(counts) == pytest.approx(precision)
        assert span_f1(counts) == pytest.approx(f1)
        assert false_alarm_rate(counts) == pytest.approx(alarms)


def test_f1_is_taken_from_the_pooled_counts() -> None:
    # One sentence perfect (P = R = 1), the other all wrong (P = R = 0): a mean of per-sentence
    # F1 would be 1/2; pooled, precision = 1/3 and recall = 1/2, so F1 = 2/5.
    gold = [[(0, 3)], [(0, 3)]]
    tagged = [[(0, 3)], [(5, 7), (8, 9)]]
    assert span_f1(count_table(gold, tagged)) == pytest.approx(2 / 5)
    assert span_f1(count_table([[(0, 3)]], [[(5, 7)]])) == 0.0  # P = R = 0: F1 0, not n/a


def test_undefined_metrics_show_n_a() -> None:
    nothing_kept = summarize_spans(gold_spans(), predicted_at(0.95), 0.95, n_boot=50)
    assert nothing_kept.predicted == 0
    assert nothing_kept.recall.value == 0.0 and nothing_kept.false_alarms.value == 0.0
    assert nothing_kept.precision.value is None and nothing_kept.f1.value is None
    table = render_span_summary(nothing_kept)
    assert "| span precision | n/a | n/a | 0 of 0 predicted overlap |" in table
    assert "| span F1 | n/a | n/a |" in table
    assert "| span recall | 0.000 | [0.000, 0.000] | 0 of 5 gold spans overlapped |" in table
    # Every sentence has gold spans: false alarms are undefined; no gold at all: recall is.
    all_gold = summarize_spans([[(0, 2)], [(1, 3)]], [[(0, 1)], []], 0.5, n_boot=50)
    assert all_gold.false_alarms.value is None and all_gold.recall.value == 0.5
    no_gold = summarize_spans([[], []], [[(0, 1)], []], 0.5, n_boot=50)
    assert no_gold.recall.value is None and no_gold.f1.value is None
    assert no_gold.precision.value == 0.0 and no_gold.false_alarms.value == 0.5
    with pytest.raises(ValueError, match="no sentences"):
        count_table([], [])


def test_summary_counts_intervals_and_table() -> None:
    summary = summarize_spans(gold_spans(), predicted_at(0.5), 0.5)
    assert (summary.n, summary.with_gold, summary.gold, summary.predicted) == (5, 3, 5, 4)
    assert (summary.gold_hit, summary.predicted_hit, summary.flagged_clean) == (3, 2, 1)
    for estimate, value in (
        (summary.recall, 3 / 5),
        (summary.precision, 1 / 2),
        (summary.f1, 6 / 11),
        (summary.false_alarms, 1 / 2),
    ):
        assert estimate.value == pytest.approx(value)
        assert estimate.low is not None and estimate.high is not None
        assert 0.0 <= estimate.low <= value <= estimate.high <= 1.0
        assert estimate.low < estimate.high  # five differing sentences: the resamples differ
    assert summarize_spans(gold_spans(), predicted_at(0.5), 0.5) == summary  # fixed seed
    table = render_span_summary(summary)
    assert table.startswith(
        "task spans: n = 5 sentences (3 with gold spans, 2 without), 5 gold spans, "
        "4 predicted spans, threshold 0.5\n"
    )
    assert "| metric | value | 95% interval | counts |" in table
    assert "| span recall | 0.600 | [" in table and "| 3 of 5 gold spans overlapped |" in table
    assert "| span precision | 0.500 | [" in table
    assert "| span F1 | 0.545 | [" in table
    assert "| false alarms | 0.500 | [" in table and "1 of 2 sentences without gold |" in table


def test_identical_sentences_give_a_point_interval() -> None:
    # Every resample is the same sentence again: the interval is the value itself.
    summary = summarize_spans([[(0, 4), (6, 9)]] * 4, [[(1, 2)]] * 4, 0.5, n_boot=100)
    assert (summary.recall.value, summary.recall.low, summary.recall.high) == (0.5, 0.5, 0.5)
    assert summary.precision.render() == ("1.000", "[1.000, 1.000]")
