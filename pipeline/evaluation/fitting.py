"""Fitting the sentence combination: the signals per row, logistic regressions, thresholds.

Shared by `newsaudit calibrate` (pipeline.evaluation.calibrate), which fits it to the
configured model's answers, and train/combination.py, which fits the shipped weights
(pipeline/data/combination.json) to the embedded model's. Each row is a sentence judged as a
one-sentence article in its own voice, as `newsaudit eval --task bias` judges it. Two logistic
regressions: with the model's probabilities (fitted on the rows the attribution rules leave in
the article's own voice, the only ones the pipeline asks the model about) and without them
(every row). Which signals each combines is chosen by 5-fold cross-validated AUC; its
threshold by macro-F1 on the same out-of-fold predictions; the bias findings' threshold is the
lowest one at which those predictions are right four times in five. Needs scikit-learn
(`pip install "newsaudit[calibrate]"`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from pipeline.core.errors import SetupError
from pipeline.evaluation.metrics import balanced_accuracy, macro_f1, roc_auc
from pipeline.signals.attribution import attribute, quoted_share
from pipeline.signals.cues import cues
from pipeline.signals.embeddings import embedded_model
from pipeline.signals.subjectivity import (
    BASE_FEATURES,
    MODEL_FEATURES,
    Combination,
    Phrase,
    centred,
    combination_from,
    feature_rows,
    phrase_of,
    signal_values,
)
from pipeline.stages.verify import ruled
from pipeline.text.sentences import whole

SEED = 0


def needs_sklearn() -> Any:
    """scikit-learn's modules used here, or a SetupError that says how to install it."""
    try:
        return SimpleNamespace(
            **{
                name: importlib.import_module(f"sklearn.{name}")
                for name in ("linear_model", "model_selection", "preprocessing")
            }
        )
    except ImportError:
        raise SetupError(
            'fitting a calibration needs scikit-learn: pip install "newsaudit[calibrate]"'
        ) from None


def _combination_model(sklearn: Any) -> Any:
    """The (unfitted) logistic regression of a sentence combination's variant."""
    return sklearn.linear_model.LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000)


def best_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The threshold with the best macro-F1 (ties: the one nearest 0.5)."""
    grid = np.round(np.arange(0.2, 0.801, 0.01), 2)
    return float(max(grid, key=lambda t: (macro_f1(labels, scores >= t), -abs(t - 0.5))))


FINDING_PRECISION = 0.8  # a bias finding should be right four times in five
OWN_VOICE_FEATURES = tuple(f for f in BASE_FEATURES if f not in ("attributed", "unnamed"))
# Which signals to combine is chosen by cross-validated AUC on train + val, among these.
WITHOUT_MODEL_CANDIDATES = (("classifier",), ("classifier", "phrase"), BASE_FEATURES)
WITH_MODEL_CANDIDATES = (
    ("classifier", *MODEL_FEATURES),
    ("classifier", "phrase", *MODEL_FEATURES),
    OWN_VOICE_FEATURES + MODEL_FEATURES,
)


def out_of_fold_classifier(
    texts: list[str], y: np.ndarray, c: float
) -> tuple[np.ndarray, list[Phrase | None]]:
    """The classifier's probability and most subjective phrase for each row, from a model
    fitted without the row's fold (the shipped one saw every row)."""
    sklearn = needs_sklearn()
    LogisticRegression = sklearn.linear_model.LogisticRegression
    StratifiedKFold = sklearn.model_selection.StratifiedKFold
    StandardScaler = sklearn.preprocessing.StandardScaler

    encoded = embedded_model().encode(texts)
    probs = np.zeros(len(texts))
    phrases: list[Phrase | None] = [None] * len(texts)
    for train, held in StratifiedKFold(5, shuffle=True, random_state=SEED).split(encoded.layers, y):
        scaler = StandardScaler().fit(encoded.layers[train])
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=SEED)
        model.fit(scaler.transform(encoded.layers[train]), y[train])
        probs[held] = model.predict_proba(scaler.transform(encoded.layers[held]))[:, 1]
        for n in held:
            logits = scaler.transform(encoded.tokens[n]) @ model.coef_[0]
            phrases[n] = phrase_of(texts[n], logits, encoded.offsets[n], model.intercept_[0])
    return probs, phrases


def rows_of(
    texts: list[str],
    ids: list[str],
    clf: np.ndarray,
    phrases: list[Phrase | None],
    kinds: dict[str, Any],
) -> list[Any]:
    """Per row: its signal values and whether the attribution rules leave it unattributed."""
    out = []
    for row_id, text, p, phrase in zip(ids, texts, clf, phrases, strict=True):
        a = attribute(whole(text))[0]
        values = signal_values(
            float(p),
            phrase,
            cues(text),
            quoted=quoted_share(text),
            attributed=a is not None,
            unnamed=a is not None and not a.named,
            model=kinds.get(row_id),
        )
        out.append((values, a is None))
    return out


def fit(
    rows: list[dict[str, float]],
    y: np.ndarray,
    names: tuple[str, ...],
    choose: Callable[[np.ndarray, np.ndarray], float] = best_threshold,
) -> dict[str, Any]:
    """A logistic regression over the named signals, its threshold chosen by ``choose``
    (default: best macro-F1) from out-of-fold scores."""
    sklearn = needs_sklearn()
    StratifiedKFold = sklearn.model_selection.StratifiedKFold
    cross_val_predict = sklearn.model_selection.cross_val_predict

    x = feature_rows(rows, names)
    model = _combination_model(sklearn)
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    oof = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    model.fit(x, y)
    threshold = choose(y, oof)
    return {
        "features": list(names),
        "coef": [round(float(c), 6) for c in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 6),
        "threshold": threshold,
        "finding_threshold": precise_threshold(y, oof, threshold),
        "n": len(y),
        "cv_auc": round(roc_auc(y, oof), 4),
    }


def best_fit(
    rows: list[dict[str, float]], y: np.ndarray, candidates: tuple[tuple[str, ...], ...]
) -> dict[str, Any]:
    """The candidate set of signals with the best cross-validated AUC, fitted; every
    candidate's AUC is kept with it."""
    fits = [fit(rows, y, names) for names in candidates]
    best = max(fits, key=lambda f: f["cv_auc"])
    return best | {"candidates": {"+".join(f["features"]): f["cv_auc"] for f in fits}}


def precise_threshold(y: np.ndarray, scores: np.ndarray, floor: float) -> float:
    """The lowest threshold (not below ``floor``) at which the out-of-fold predictions are
    right at least FINDING_PRECISION of the time: the operating point for bias findings."""
    for t in np.round(np.arange(floor, 0.951, 0.01), 2):
        flagged = scores >= t
        if flagged.sum() >= 10 and y[flagged].mean() >= FINDING_PRECISION:
            return float(t)
    return 0.95


def production_scores(rows: list[Any], fitted: dict[str, Any] | Combination) -> np.ndarray:
    """Scores as the pipeline gives them: the model's variant for own-voice rows that have
    the model's answer, the fallback for the others (``fitted``: a fit's dict or a loaded
    combination)."""
    combined = fitted if isinstance(fitted, Combination) else combination_from(fitted)
    out = []
    for values, own in rows:
        use = combined.pick(own and MODEL_FEATURES[0] in values)
        out.append(centred(use.probability(values), use.threshold))
    return np.array(out)


def out_of_fold_production(rows: list[Any], y: np.ndarray, fitted: dict[str, Any]) -> np.ndarray:
    """Each row's production score (``production_scores``) from both variants refitted, with
    the signals ``fitted`` chose and its thresholds, on the other four of five folds: the
    figures of a fit on rows it did not see (the thresholds were chosen on the same rows'
    out-of-fold predictions, as ``fit`` chooses them)."""
    sklearn = needs_sklearn()
    folds = sklearn.model_selection.StratifiedKFold(5, shuffle=True, random_state=SEED)
    answered = np.array([own and MODEL_FEATURES[0] in values for values, own in rows])
    scores = np.zeros(len(rows))
    for train, held in folds.split(np.zeros(len(rows)), y):
        part: dict[str, Any] = {}
        for variant, index in (
            ("with_model", train[answered[train]]),
            ("without_model", train),
        ):
            chosen = fitted[variant]
            model = _combination_model(sklearn)
            model.fit(feature_rows([rows[i][0] for i in index], chosen["features"]), y[index])
            part[variant] = chosen | {
                "coef": [float(c) for c in model.coef_[0]],
                "intercept": float(model.intercept_[0]),
            }
        scores[held] = production_scores([rows[i] for i in held], part)
    return scores


# The statement checker ------------------------------------------------------------------------
# Fitted as train/faithfulness.py fits the shipped weights (pipeline/data/faithfulness.json):
# standardised features, each row weighted by 1 / (rows of its set and label), thresholds by
# balanced accuracy.

GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
STATEMENT_C = 0.3


def weights(strata: np.ndarray) -> np.ndarray:
    """1 / (rows of the row's set and label), scaled to a mean of one."""
    counts = {k: int((strata == k).sum()) for k in set(strata)}
    w = np.array([1.0 / counts[k] for k in strata])
    return w / w.mean()


def statement_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[Any, Any]:
    """Standardised logistic regression on weighted rows."""
    sklearn = needs_sklearn()
    scaler = sklearn.preprocessing.StandardScaler().fit(x)
    model = sklearn.linear_model.LogisticRegression(C=STATEMENT_C, max_iter=5000)
    model.fit(scaler.transform(x), y, sample_weight=w)
    return scaler, model


def statement_out_of_fold(
    x: np.ndarray, y: np.ndarray, strata: np.ndarray, groups: np.ndarray | None = None
) -> np.ndarray:
    """Each row's P(supported) from a model fitted on the other folds: 5 folds stratified by
    set and label, and, with ``groups`` (a document per row), no document on both sides."""
    sklearn = needs_sklearn()
    selection = sklearn.model_selection
    if groups is None:
        folds = selection.StratifiedKFold(5, shuffle=True, random_state=SEED).split(x, strata)
    else:
        grouped = selection.StratifiedGroupKFold(5, shuffle=True, random_state=SEED)
        folds = grouped.split(x, strata, groups)
    w, scores = weights(strata), np.zeros(len(y))
    for train, held in folds:
        scaler, model = statement_fit(x[train], y[train], w[train])
        scores[held] = model.predict_proba(scaler.transform(x[held]))[:, 1]
    return scores


def balanced_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """The threshold with the best balanced accuracy (ties: nearest 0.5)."""
    return float(max(GRID, key=lambda t: (balanced_accuracy(y, scores >= t), -abs(t - 0.5))))


def exported(scaler: Any, model: Any, names: tuple[str, ...], threshold: float) -> dict[str, Any]:
    """Weights on the raw features (the scaler folded in), as load_combination reads them."""
    coef = model.coef_[0] / scaler.scale_
    intercept = model.intercept_[0] - float(np.sum(model.coef_[0] * scaler.mean_ / scaler.scale_))
    return {
        "features": list(names),
        "coef": [round(float(c), 6) for c in coef],
        "intercept": round(float(intercept), 6),
        "threshold": threshold,
    }


SLOPES = np.round(np.arange(-0.6, 0.601, 0.05), 2)


def rule_scores(values: Sequence[Mapping[str, float]]) -> np.ndarray:
    """The score verify's rules fix per row (verify.ruled: restated 1, unbacked 0), NaN
    where none applies."""
    return np.array([np.nan if (r := ruled(v)) is None else r for v in values])


def with_rules(scores: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """The combination's scores with the rules' scores (``rule_scores``) where they apply,
    as verify's judge() applies them."""
    return np.where(np.isnan(fixed), scores, fixed)


def mean_balanced_accuracy(
    y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray | float, sets: np.ndarray
) -> float:
    """Balanced accuracy per set, averaged: each set weighs the same whatever its size."""
    called = scores >= thresholds
    return float(np.mean([balanced_accuracy(y[sets == s], called[sets == s]) for s in set(sets)]))


def conditioned_threshold(
    y: np.ndarray,
    scores: np.ndarray,
    sets: np.ndarray,
    marker: np.ndarray | None,
) -> tuple[float, float]:
    """The threshold ``t0 + t1 * marker`` (``t1`` = 0 without a marker: one threshold) with
    the best mean balanced accuracy over the sets (ties: the flattest, then nearest 0.5)."""
    slopes = SLOPES if marker is not None else np.array([0.0])
    a = marker if marker is not None else np.zeros(len(y))
    best = max(
        ((float(t0), float(t1)) for t1 in slopes for t0 in GRID),
        key=lambda t: (
            round(mean_balanced_accuracy(y, scores, t[0] + t[1] * a, sets), 6),
            -abs(t[1]),
            -abs(t[0] - 0.5),
        ),
    )
    return best


def left_out(
    x: np.ndarray,
    y: np.ndarray,
    sets: np.ndarray,
    groups: np.ndarray,
    marker: np.ndarray | None = None,
    ruled: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each set's scores and thresholds from a combination fitted without it: the weights on
    the other sets, the threshold (``conditioned_threshold``) on those sets' out-of-fold
    scores (folds grouped by ``groups``, a document per row). No row is scored by weights or a
    threshold that saw its set. ``ruled``: the score a rule fixes per row (``rule_scores``),
    in the threshold's choice too."""
    fixed = np.full(len(y), np.nan) if ruled is None else ruled
    strata = np.array([f"{s}:{label}" for s, label in zip(sets, y, strict=True)])
    scores, thresholds = np.zeros(len(y)), np.zeros(len(y))
    for name in sorted(set(sets)):
        train, held = sets != name, sets == name
        oof = statement_out_of_fold(x[train], y[train], strata[train], groups[train])
        oof = with_rules(oof, fixed[train])
        a = None if marker is None else marker[train]
        t0, t1 = conditioned_threshold(y[train], oof, sets[train], a)
        scaler, model = statement_fit(x[train], y[train], weights(strata[train]))
        predicted = model.predict_proba(scaler.transform(x[held]))[:, 1]
        scores[held] = with_rules(predicted, fixed[held])
        thresholds[held] = t0 + t1 * (0.0 if marker is None else marker[held])
    return scores, thresholds
