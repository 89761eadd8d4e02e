"""The shipped subjectivity classifier and combination: loading, a fixed prediction, and the
NewsSD-ENG test figure the documentation states (offline: no model calls)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.evaluation.metrics import macro_f1
from pipeline.signals.attribution import attribute, quoted_share
from pipeline.signals.cues import cues
from pipeline.signals.subjectivity import (
    centred,
    classifier,
    combination,
    embed_and_classify,
    signal_values,
    subjective,
)
from pipeline.text.sentences import whole

DATA = Path(__file__).resolve().parent.parent / "pipeline" / "data" / "newssd-eng"
# The figures docs/measurements.md states for the NewsSD-ENG test split (n = 219).
README_CLASSIFIER_MACRO_F1 = 0.77
README_FALLBACK_MACRO_F1 = 0.75
README_COMBINATION_MACRO_F1 = 0.77


def _test_split() -> tuple[list[str], np.ndarray]:
    rows = [json.loads(line) for line in (DATA / "newssd-eng-test.jsonl").read_text().splitlines()]
    return [r["text"] for r in rows], np.array([bool(r["label"]) for r in rows])


def test_the_classifier_loads_and_gives_the_same_prediction() -> None:
    probs = embed_and_classify(
        [
            "The government announced the budget on Tuesday.",
            "This shameful budget is an utter disaster for ordinary families.",
        ]
    ).probabilities
    assert probs == pytest.approx([0.0945, 0.9663], abs=1e-3)
    assert classifier().meta["trained_on"] == "train + val"


def test_the_most_subjective_words_are_traced_from_the_decision() -> None:
    texts = [
        "This shameful budget is an utter disaster for ordinary families.",
        "This news has sent shockwaves through international relations, say analysts.",
        "The council met on Tuesday.",
    ]
    scored = embed_and_classify(texts)
    for text, phrase in zip(texts, scored.phrases, strict=True):
        assert phrase is not None
        words = text[phrase.start : phrase.end]
        assert words and words == words.strip() and text.count(words) >= 1
        assert (phrase.start == 0 or not text[phrase.start - 1].isalnum()) and (
            phrase.end == len(text) or not text[phrase.end].isalnum()
        )
    shameful, shockwaves, neutral = scored.phrases
    assert shameful is not None and "shameful" in texts[0][shameful.start : shameful.end]
    assert shockwaves is not None and "shockwaves" in texts[1][shockwaves.start : shockwaves.end]
    assert neutral is not None and shameful.logit > neutral.logit


def test_the_classifier_keeps_its_newssd_test_figure() -> None:
    texts, labels = _test_split()
    probs = embed_and_classify(texts).probabilities
    threshold = float(classifier().meta["threshold"])
    assert macro_f1(labels, probs >= threshold) >= README_CLASSIFIER_MACRO_F1


def _replayed(texts: list[str], answers: dict[str, Any] | None = None) -> tuple[np.ndarray, int]:
    """Centred scores of NewsSD-ENG test rows as `newsaudit eval` gives them, with the model's
    answers where given (own-voice rows only, as the pipeline asks), and how many used them."""
    scored = embed_and_classify(texts)
    scores, asked = [], 0
    for n, (text, p, phrase) in enumerate(
        zip(texts, scored.probabilities, scored.phrases, strict=True)
    ):
        found = attribute(whole(text))[0]
        own = answers is not None and found is None and f"newssd-test-{n}" in answers
        values = signal_values(
            float(p),
            phrase,
            cues(text),
            quoted=quoted_share(text),
            attributed=found is not None,
            unnamed=found is not None and not found.named,
            model=answers[f"newssd-test-{n}"] if answers is not None and own else None,
        )
        prob, fitted = subjective(values, has_model=own)
        scores.append(centred(prob, fitted.threshold))
        asked += own
    return np.array(scores), asked


def test_the_combination_without_the_model_keeps_its_newssd_test_figure() -> None:
    texts, labels = _test_split()
    scores, asked = _replayed(texts)
    assert asked == 0
    assert macro_f1(labels, scores >= 0.5) >= README_FALLBACK_MACRO_F1


def test_the_combination_with_the_models_answers_holds_on_the_held_back_split() -> None:
    """The full scorer, replayed offline: the NewsSD-ENG test split was held back from every
    fit and threshold, and the embedded model's answers for it are the committed probe cache
    (train/newssd-probes.jsonl, recorded from the model by `python -m train.combination`)."""
    texts, labels = _test_split()
    cache = Path(__file__).resolve().parent.parent / "train" / "newssd-probes.jsonl"
    answers = {r["id"]: r["probs"] for r in map(json.loads, cache.read_text().splitlines())}
    scores, asked = _replayed(texts, answers)
    assert asked > len(texts) // 2  # most rows are own-voice and were asked
    assert macro_f1(labels, scores >= 0.5) >= README_COMBINATION_MACRO_F1


def test_both_variants_are_fitted_on_the_same_signals() -> None:
    fitted = combination()
    assert fitted.with_model.features[0] == fitted.without_model.features[0] == "classifier"
    assert all(f.startswith("model_") for f in fitted.with_model.features[-5:])
    for model in (fitted.with_model, fitted.without_model):
        assert 0 < model.threshold <= model.finding_threshold < 1


@pytest.mark.parametrize(("p", "threshold"), [(0.2, 0.6), (0.6, 0.6), (0.9, 0.3), (0.0, 0.5)])
def test_centred_scores_keep_the_order_and_put_the_threshold_at_half(
    p: float, threshold: float
) -> None:
    assert 0 <= centred(p, threshold) <= 1
    assert (centred(p, threshold) >= 0.5) == (p >= threshold)
    assert centred(min(p + 0.05, 1), threshold) >= centred(p, threshold)
