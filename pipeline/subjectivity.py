"""How subjective a sentence's wording is: a trained classifier on sentence embeddings,
combined with word cues, the sentence's attribution and, where the provider gives them, the
model's probabilities for each kind of sentence.

Both parts are fitted by scripts in train/ on NewsSD-ENG (CC BY 4.0) and shipped as plain
numbers in pipeline/data/ (no pickle): the classifier (train/subjectivity.py) and the
combination (train/combination.py), a logistic regression over the signals with its
threshold chosen on cross-validated predictions. Without model probabilities the
combination's fallback, fitted on the same rows without them, is used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.cues import CUE_FEATURES, Cues

Vector = NDArray[np.float32]
MODEL_OPTIONS = ("A", "B", "C", "D", "E")  # the letters of prompts/sentence.j2
MODEL_FEATURES = tuple(f"model_{letter}" for letter in MODEL_OPTIONS)
BASE_FEATURES = ("classifier", *CUE_FEATURES, "quoted", "attributed", "unnamed")
PROBABILITY_FLOOR = 0.01


def _data(name: str) -> Any:
    return files("pipeline").joinpath(f"data/{name}")


def logit(p: float) -> float:
    """log(p / (1 - p)), clipped away from 0 and 1."""
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


class Classifier:
    """Logistic regression over standardised layer-averaged MiniLM states."""

    def __init__(self) -> None:
        with _data("subjectivity.npz").open("rb") as handle:
            weights = np.load(handle)
            self.mean = weights["mean"]
            self.scale = weights["scale"]
            self.coef = weights["coef"]
            self.intercept = float(weights["intercept"])
        self.meta = json.loads(_data("subjectivity.json").read_text(encoding="utf-8"))

    def probabilities(self, features: Vector) -> NDArray[np.float64]:
        """P(subjective) per row of layer-averaged features."""
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z.astype(np.float64)))


@cache
def classifier() -> Classifier:
    """The shipped classifier, loaded once per process."""
    return Classifier()


def embed_and_classify(texts: list[str]) -> tuple[Vector, NDArray[np.float64]]:
    """Unit sentence vectors (for evidence matching) and P(subjective), in one MiniLM pass."""
    from pipeline.embeddings import embedded_model

    vectors, layers = embedded_model().encode(texts)
    return vectors, classifier().probabilities(layers)


@dataclass(frozen=True)
class LogisticModel:
    """A fitted logistic regression over named features, with its decision threshold."""

    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    finding_threshold: float

    def probability(self, values: Mapping[str, float]) -> float:
        """P(true) for one row of feature values."""
        z = self.intercept + sum(
            c * values[f] for f, c in zip(self.features, self.coef, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Combination:
    """The fitted combination: with the model's probabilities, and the fallback without."""

    with_model: LogisticModel
    without_model: LogisticModel
    meta: dict[str, Any]

    def pick(self, has_model: bool) -> LogisticModel:
        """The variant that matches the signals at hand."""
        return self.with_model if has_model else self.without_model


@cache
def load_combination(name: str) -> Combination:
    """A fitted combination shipped in pipeline/data/ (both variants), loaded once."""
    raw = json.loads(_data(name).read_text(encoding="utf-8"))

    def model(part: dict[str, Any]) -> LogisticModel:
        return LogisticModel(
            features=tuple(part["features"]),
            coef=tuple(part["coef"]),
            intercept=float(part["intercept"]),
            threshold=float(part["threshold"]),
            finding_threshold=float(part.get("finding_threshold", part["threshold"])),
        )

    return Combination(model(raw["with_model"]), model(raw["without_model"]), raw)


def combination() -> Combination:
    """The subjectivity combination (pipeline/data/combination.json)."""
    return load_combination("combination.json")


def signal_values(
    classifier_p: float,
    found: Cues,
    *,
    quoted: float,
    attributed: bool,
    unnamed: bool,
    model: Mapping[str, float] | None,
) -> dict[str, float]:
    """The combination's inputs for one sentence (model features only when given)."""
    values = dict(zip(CUE_FEATURES, found.vector(), strict=True))
    values |= {
        "classifier": logit(classifier_p),
        "quoted": quoted,
        "attributed": float(attributed),
        "unnamed": float(unnamed),
    }
    if model is not None:
        values |= {
            f"model_{k}": math.log(max(model.get(k, 0.0), PROBABILITY_FLOOR)) for k in MODEL_OPTIONS
        }
    return values


def subjective(values: Mapping[str, float], has_model: bool) -> tuple[float, LogisticModel]:
    """P(subjective) from the combination, and the fitted variant (with its thresholds)."""
    fitted = combination().pick(has_model)
    return fitted.probability(values), fitted


def centred(probability: float, threshold: float) -> float:
    """A probability mapped so that its threshold sits at 0.5 (order kept, within [0, 1]):
    scores of the two variants, each with its own threshold, become comparable."""
    if probability >= threshold:
        return 0.5 + 0.5 * (probability - threshold) / max(1 - threshold, 1e-9)
    return 0.5 * probability / max(threshold, 1e-9)


def feature_rows(rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> NDArray[np.float64]:
    """A design matrix of the named features (for fitting)."""
    return np.array([[row[n] for n in names] for row in rows], dtype=np.float64)
