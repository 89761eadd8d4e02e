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

from pipeline.signals.cues import CUE_FEATURES, Cues

Vector = NDArray[np.float32]
MODEL_OPTIONS = ("A", "B", "C", "D", "E")  # the letters of prompts/sentence.j2
MODEL_FEATURES = tuple(f"model_{letter}" for letter in MODEL_OPTIONS)
BASE_FEATURES = ("classifier", "phrase", *CUE_FEATURES, "quoted", "attributed", "unnamed")
PHRASE_TOKENS = 4  # word pieces in the window the most subjective phrase is looked for in
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

    def token_logits(self, tokens: Vector) -> NDArray[np.float64]:
        """Each word piece's share of the decision: the sentence's logit is the mean of these
        over its tokens plus the intercept, so they show which words make it subjective."""
        return np.asarray(((tokens - self.mean) / self.scale) @ self.coef, dtype=np.float64)


@cache
def classifier() -> Classifier:
    """The shipped classifier, loaded once per process."""
    return Classifier()


@dataclass(frozen=True)
class Phrase:
    """The sentence's most subjective run of words, as the classifier reads it."""

    logit: float  # the classifier's logit for these words alone
    start: int  # character offsets in the sentence, whole words
    end: int


@dataclass(frozen=True)
class Scored:
    """One pass of the embedding model over some sentences, with the classifier's verdicts."""

    vectors: Vector  # unit sentence vectors (evidence matching, citations)
    probabilities: NDArray[np.float64]  # P(subjective) per sentence
    phrases: list[Phrase | None]
    tokens: list[Vector]  # each sentence's word-piece states (the word tagger's input)
    offsets: list[list[tuple[int, int]]]  # and their character offsets in the sentence


def loaded_phrase(text: str, tokens: Vector, offsets: list[tuple[int, int]]) -> Phrase | None:
    """The shipped classifier's most subjective phrase of a text (see ``phrase_of``)."""
    model = classifier()
    return phrase_of(text, model.token_logits(tokens), offsets, model.intercept)


def phrase_of(
    text: str, logits: NDArray[np.float64], offsets: list[tuple[int, int]], intercept: float
) -> Phrase | None:
    """The run of up to PHRASE_TOKENS word pieces with the highest mean token logit, widened
    to whole words; None for a text without word pieces."""
    if not offsets:
        return None
    width = min(PHRASE_TOKENS, len(logits))
    means = np.convolve(logits, np.ones(width) / width, mode="valid")
    first = int(np.argmax(means))
    start, end = offsets[first][0], offsets[first + width - 1][1]
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return Phrase(float(means[first]) + intercept, start, end)


def embed_and_classify(texts: list[str]) -> Scored:
    """Sentence vectors, P(subjective) and the most subjective phrase, in one MiniLM pass."""
    from pipeline.signals.embeddings import embedded_model

    encoded = embedded_model().encode(texts)
    phrases = [
        loaded_phrase(t, tokens, offsets)
        for t, tokens, offsets in zip(texts, encoded.tokens, encoded.offsets, strict=True)
    ]
    probabilities = classifier().probabilities(encoded.layers)
    return Scored(encoded.vectors, probabilities, phrases, encoded.tokens, encoded.offsets)


@dataclass(frozen=True)
class LogisticModel:
    """A fitted logistic regression over named features, with its decision threshold."""

    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    finding_threshold: float
    threshold_by: str | None = None  # a feature the threshold moves with (statements)
    threshold_slope: float = 0.0

    def threshold_at(self, values: Mapping[str, float]) -> float:
        """The decision threshold for one row: ``threshold + threshold_slope * values[
        threshold_by]``, kept within [0.05, 0.95] (the fixed threshold without a feature)."""
        if self.threshold_by is None:
            return self.threshold
        moved = self.threshold + self.threshold_slope * values[self.threshold_by]
        return round(min(max(moved, 0.05), 0.95), 4)

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


def combination_from(raw: dict[str, Any]) -> Combination:
    """A combination from its JSON form (both variants; the rest of ``raw`` is its meta)."""

    def model(part: dict[str, Any]) -> LogisticModel:
        return LogisticModel(
            features=tuple(part["features"]),
            coef=tuple(part["coef"]),
            intercept=float(part["intercept"]),
            threshold=float(part["threshold"]),
            finding_threshold=float(part.get("finding_threshold", part["threshold"])),
            threshold_by=part.get("threshold_by", {}).get("feature"),
            threshold_slope=float(part.get("threshold_by", {}).get("slope", 0.0)),
        )

    return Combination(model(raw["with_model"]), model(raw["without_model"]), raw)


@cache
def load_combination(name: str) -> Combination:
    """A fitted combination shipped in pipeline/data/ (both variants), loaded once."""
    return combination_from(json.loads(_data(name).read_text(encoding="utf-8")))


def combination() -> Combination:
    """The subjectivity combination (pipeline/data/combination.json)."""
    return load_combination("combination.json")


def signal_values(
    classifier_p: float,
    phrase: Phrase | None,
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
        "phrase": phrase.logit if phrase is not None else logit(classifier_p),
        "quoted": quoted,
        "attributed": float(attributed),
        "unnamed": float(unnamed),
    }
    if model is not None:
        values |= {
            f"model_{k}": math.log(max(model.get(k, 0.0), PROBABILITY_FLOOR)) for k in MODEL_OPTIONS
        }
    return values


def subjective(
    values: Mapping[str, float], has_model: bool, fitted_on: Combination | None = None
) -> tuple[float, LogisticModel]:
    """P(subjective) from the combination (``fitted_on``: a calibration profile's; default
    the shipped one), and the fitted variant (with its thresholds)."""
    fitted = (fitted_on or combination()).pick(has_model)
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
