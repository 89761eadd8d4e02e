"""Metrics for binary judgments (numpy only): balanced accuracy, macro-F1, AUC, bootstrap CIs.

Labels and predictions are booleans (true = the positive class), scores are probabilities of
the positive class. Conventions follow scikit-learn's where they are defined: balanced
accuracy and macro-F1 average over the classes present; AUC needs both classes and raises
``ValueError`` otherwise (as do empty or mismatched inputs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

Metric = Callable[[npt.ArrayLike, npt.ArrayLike], float]


class Confusion(NamedTuple):
    """Counts of predictions against labels."""

    tp: int
    fp: int
    fn: int
    tn: int


def _pair(
    labels: npt.ArrayLike, values: npt.ArrayLike, dtype: type
) -> tuple[np.ndarray, np.ndarray]:
    """Labels as booleans and values as ``dtype``, checked to be non-empty and of equal length."""
    y: np.ndarray = np.asarray(labels, dtype=bool).ravel()
    v: np.ndarray = np.asarray(values, dtype=dtype).ravel()
    if y.size == 0:
        raise ValueError("no rows to score")
    if y.size != v.size:
        raise ValueError(f"{y.size} labels but {v.size} predictions")
    if dtype is float and not np.all(np.isfinite(v)):
        raise ValueError("scores must be finite numbers")
    return y, v


def confusion(labels: npt.ArrayLike, preds: npt.ArrayLike) -> Confusion:
    """Counts of (tp, fp, fn, tn)."""
    y, p = _pair(labels, preds, bool)
    return Confusion(
        int(np.sum(y & p)), int(np.sum(~y & p)), int(np.sum(y & ~p)), int(np.sum(~y & ~p))
    )


def balanced_accuracy(labels: npt.ArrayLike, preds: npt.ArrayLike) -> float:
    """Mean recall of the classes present in ``labels`` (recall of the one class if only one)."""
    tp, fp, fn, tn = confusion(labels, preds)
    recalls = [hit / (hit + miss) for hit, miss in ((tp, fn), (tn, fp)) if hit + miss]
    return float(np.mean(recalls))


def macro_f1(labels: npt.ArrayLike, preds: npt.ArrayLike) -> float:
    """Mean F1 of the positive and the negative class, over the classes in labels or preds."""
    tp, fp, fn, tn = confusion(labels, preds)
    # For each class: (hits, false alarms, misses); a class absent from both is left out.
    classes = [(h, fa, m) for h, fa, m in ((tp, fp, fn), (tn, fn, fp)) if h + fa + m]
    return float(np.mean([2 * h / (2 * h + fa + m) for h, fa, m in classes]))


def average_ranks(values: npt.ArrayLike) -> np.ndarray:
    """1-based ranks of ``values``; tied values share the mean of the ranks they span."""
    x = np.asarray(values, dtype=float).ravel()
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    first = np.flatnonzero(starts)
    sizes = np.diff(np.r_[first, x.size])
    group_rank = first + (sizes + 1) / 2  # ranks first+1 .. first+size, averaged
    ranks = np.empty(x.size)
    ranks[order] = group_rank[np.cumsum(starts) - 1]
    return ranks


def roc_auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties count 1/2."""
    y, s = _pair(labels, scores, float)
    positives = int(y.sum())
    negatives = y.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both classes among the labels")
    # Mann-Whitney U of the positives, from their average ranks among all scores.
    u = average_ranks(s)[y].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def bootstrap_ci(
    metric: Metric,
    labels: npt.ArrayLike,
    values: npt.ArrayLike,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of ``metric`` over ``n`` resamples of the rows (fixed seed).

    Resamples on which the metric is undefined (``ValueError``, e.g. AUC of a one-class
    resample) are skipped; if every resample is, the ``ValueError`` is raised.
    """
    y, v = _pair(labels, values, float)
    return resample_ci(lambda rows: metric(y[rows], v[rows]), y.size, n, seed, level)


def resample_ci(
    metric: Callable[[np.ndarray], float],
    size: int,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of ``metric``, given the indices of a resample of ``size`` rows
    (drawn with replacement), over ``n`` resamples (fixed seed); undefined resamples
    (``ValueError``) are skipped, and if every one is, the ``ValueError`` is raised."""
    if size <= 0:
        raise ValueError("no rows to score")
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(n):
        rows = rng.integers(0, size, size)
        try:
            estimates.append(metric(rows))
        except ValueError:
            continue
    if not estimates:
        raise ValueError("the metric is undefined on every resample")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(low), float(high)


# The summary ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A metric's value and its bootstrap interval; None where the metric is undefined."""

    value: float | None
    low: float | None = None
    high: float | None = None

    def render(self) -> tuple[str, str]:
        """The value and the interval as table cells."""
        if self.value is None:
            return "n/a", "n/a"
        if self.low is None or self.high is None:
            return f"{self.value:.3f}", "n/a"
        return f"{self.value:.3f}", f"[{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class EvalSummary:
    """What `newsaudit eval` reports: n, the class balance, the threshold, metrics, confusion."""

    task: str
    n: int
    positives: int
    threshold: float
    balanced_accuracy: Estimate
    macro_f1: Estimate
    auc: Estimate
    confusion: Confusion


def estimate(
    metric: Metric, labels: np.ndarray, values: np.ndarray, n_boot: int, seed: int
) -> Estimate:
    """The metric on all rows with its bootstrap interval; None where it is undefined."""
    try:
        value = metric(labels, values)
    except ValueError:
        return Estimate(None)
    if n_boot <= 0:
        return Estimate(value)
    return Estimate(value, *bootstrap_ci(metric, labels, values, n=n_boot, seed=seed))


def summarize(
    task: str,
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    threshold: float,
    n_boot: int = 1000,
    seed: int = 0,
) -> EvalSummary:
    """Every metric of one evaluation; predictions are ``score >= threshold``."""
    y, s = _pair(labels, scores, float)
    preds = s >= threshold
    return EvalSummary(
        task=task,
        n=int(y.size),
        positives=int(y.sum()),
        threshold=threshold,
        balanced_accuracy=estimate(balanced_accuracy, y, preds, n_boot, seed),
        macro_f1=estimate(macro_f1, y, preds, n_boot, seed),
        auc=estimate(roc_auc, y, s, n_boot, seed),
        confusion=confusion(y, preds),
    )


def render_summary(summary: EvalSummary) -> str:
    """The summary as short Markdown tables, readable as plain text in a terminal."""
    c = summary.confusion
    negatives = summary.n - summary.positives
    lines = [
        f"task {summary.task}: n = {summary.n} ({summary.positives} labelled true, "
        f"{negatives} false), threshold {summary.threshold:g}",
        "",
        "| metric | value | 95% interval |",
        "|---|---|---|",
    ]
    for name, value in (
        ("balanced accuracy", summary.balanced_accuracy),
        ("macro-F1", summary.macro_f1),
        ("AUC", summary.auc),
    ):
        lines.append("| {} | {} | {} |".format(name, *value.render()))
    lines += [
        "",
        "| | predicted true | predicted false |",
        "|---|---|---|",
        f"| labelled true | {c.tp} (tp) | {c.fn} (fn) |",
        f"| labelled false | {c.fp} (fp) | {c.tn} (tn) |",
    ]
    return "\n".join(lines) + "\n"
