"""The evaluation metrics (`pipeline.evaluation.metrics`) against hand-computed cases: the
confusion, balanced accuracy, macro-F1, AUC with ties, bootstrap intervals and the summary
`newsaudit eval` prints. The 6-row case here is the one the command is run on in test_eval.py."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from pipeline.evaluation.metrics import (
    Confusion,
    average_ranks,
    balanced_accuracy,
    bootstrap_ci,
    confusion,
    macro_f1,
    render_summary,
    roc_auc,
    summarize,
)

# The 6-row case. threshold 0.5 -> preds T T T F F F.
#   confusion: tp 2 (r0, r1), fp 1 (r2), fn 0, tn 3.
#   balanced accuracy = (recall of true 2/2 + recall of false 3/4) / 2 = 7/8 = 0.875.
#   F1 of true = 2*2 / (2*2 + 1 + 0) = 4/5; F1 of false = 2*3 / (2*3 + 0 + 1) = 6/7;
#   macro-F1 = (4/5 + 6/7) / 2 = 29/35 (plain accuracy would be 5/6).
#   AUC over the 2 x 4 (positive, negative) pairs: r0 (0.9) beats all 4; r1 (0.6) ties r2
#   (1/2) and beats 3 -> (4 + 3.5) / 8 = 0.9375.
LABELS = [True, True, False, False, False, False]
SCORES = [0.9, 0.6, 0.6, 0.4, 0.2, 0.1]
PREDS = [s >= 0.5 for s in SCORES]


def test_six_rows_by_hand() -> None:
    assert confusion(LABELS, PREDS) == Confusion(tp=2, fp=1, fn=0, tn=3)
    assert balanced_accuracy(LABELS, PREDS) == pytest.approx(7 / 8)
    assert macro_f1(LABELS, PREDS) == pytest.approx(29 / 35)
    assert roc_auc(LABELS, SCORES) == pytest.approx(0.9375)
    # A score equal to the threshold is predicted true: at 0.6, r1 and r2 stay true.
    at_tie = summarize("bias", LABELS, SCORES, 0.6, n_boot=0)
    assert at_tie.confusion == Confusion(tp=2, fp=1, fn=0, tn=3)
    assert at_tie.auc.render() == ("0.938", "n/a")  # no resamples: no interval


def test_average_ranks_share_ties() -> None:
    assert average_ranks([3, 1, 3, 2, 3]).tolist() == [4, 1, 4, 2, 4]
    assert average_ranks([0.5, 0.5]).tolist() == [1.5, 1.5]


def _pairwise_auc(labels: list[bool], scores: list[float]) -> float:
    """AUC by its definition: every (positive, negative) pair, ties count 1/2."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p, n in product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_with_many_ties_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        labels = (rng.random(40) < 0.3).tolist()
        labels[:2] = [True, False]
        scores = (rng.integers(0, 5, 40) / 4).tolist()  # five distinct values: many ties
        assert roc_auc(labels, scores) == pytest.approx(_pairwise_auc(labels, scores))
    assert roc_auc([True, False, True, False], [0.3] * 4) == 0.5


def test_perfect_and_inverted_scorers() -> None:
    labels = [True, False, True, False, False]
    perfect = [0.8, 0.1, 0.7, 0.3, 0.2]
    inverted = [1 - s for s in perfect]
    assert roc_auc(labels, perfect) == 1.0
    assert balanced_accuracy(labels, [s >= 0.5 for s in perfect]) == 1.0
    assert macro_f1(labels, [s >= 0.5 for s in perfect]) == 1.0
    assert roc_auc(labels, inverted) == 0.0
    assert balanced_accuracy(labels, [s >= 0.5 for s in inverted]) == 0.0
    assert macro_f1(labels, [s >= 0.5 for s in inverted]) == 0.0


def test_single_class_inputs() -> None:
    # Only positives: balanced accuracy is the recall of that class; macro-F1 averages the
    # classes present in labels or predictions (here F1 2/3 for true, 0 for false).
    assert balanced_accuracy([True, True], [True, False]) == 0.5
    assert macro_f1([True, True], [True, False]) == pytest.approx(1 / 3)
    assert macro_f1([True, True], [True, True]) == 1.0
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([True, True], [0.2, 0.9])
    summary = summarize("bias", [True, True, True], [0.9, 0.8, 0.1], 0.5, n_boot=50)
    assert summary.auc.value is None
    assert "| AUC | n/a | n/a |" in render_summary(summary)
    assert summary.balanced_accuracy.value == pytest.approx(2 / 3)


def test_bad_metric_inputs_are_errors() -> None:
    with pytest.raises(ValueError, match="no rows"):
        balanced_accuracy([], [])
    with pytest.raises(ValueError, match="3 labels but 2"):
        macro_f1([True, False, True], [True, False])
    with pytest.raises(ValueError, match="finite"):
        roc_auc([True, False], [0.5, float("nan")])


def _noisy(n: int = 120) -> tuple[list[bool], list[float]]:
    rng = np.random.default_rng(7)
    labels = (rng.random(n) < 0.4).tolist()
    scores = np.clip(np.array(labels) * 0.3 + rng.random(n) * 0.7, 0, 1).tolist()
    return labels, scores


def test_bootstrap_interval_holds_the_estimate_and_is_deterministic() -> None:
    labels, scores = _noisy()
    preds = [s >= 0.5 for s in scores]
    for metric, values in ((roc_auc, scores), (balanced_accuracy, preds), (macro_f1, preds)):
        point = metric(labels, values)
        low, high = bootstrap_ci(metric, labels, values, n=300, seed=0)
        assert 0.0 <= low < point < high <= 1.0
        assert high - low < 0.4  # 120 rows: an interval, not [0, 1]
        assert bootstrap_ci(metric, labels, values, n=300, seed=0) == (low, high)
        assert bootstrap_ci(metric, labels, values, n=300, seed=1) != (low, high)


def test_bootstrap_skips_one_class_resamples_and_fails_when_all_are() -> None:
    labels = [True] + [False] * 9  # one positive: about a third of resamples lack it
    low, high = bootstrap_ci(roc_auc, labels, [0.9] + [0.1] * 9, n=200)
    assert (low, high) == (1.0, 1.0)
    with pytest.raises(ValueError, match="every resample"):
        bootstrap_ci(roc_auc, [True] * 5, [0.5] * 5, n=20)


def test_summary_renders_n_metrics_intervals_and_confusion() -> None:
    text = render_summary(summarize("bias", LABELS, SCORES, 0.5, n_boot=200))
    assert "n = 6 (2 labelled true, 4 false), threshold 0.5" in text
    assert "| balanced accuracy | 0.875 | [" in text
    assert "| macro-F1 | 0.829 | [" in text
    assert "| AUC | 0.938 | [" in text
    assert "| labelled true | 2 (tp) | 0 (fn) |" in text
    assert "| labelled false | 1 (fp) | 3 (tn) |" in text
