"""Loaded words in the writer's own voice, as spans with a probability: a word-level tagger.

Every word of three letters or more outside quotation marks is a candidate; an entry of the
cited word lists (pipeline.signals.lexicons) makes one candidate of a whole phrase and gives
it its kind (framing verb, intensifier, opinion or speculation stated as fact; otherwise
loaded language) and its lexicon scores. Each candidate is scored **in context** by a
logistic regression over its word pieces' states from the MiniLM pass the sentence classifier
already makes (layer-averaged, so the cost per article is a dot product per word), the
sentence classifier's share of the decision on those pieces, the sentence's P(subjective),
and the lexicons' scores: "fierce criticism" and "a fierce storm" get different
probabilities. The weights are fitted by train/tagger.py on the project's own annotation of
NewsSD-ENG's train and validation sentences (docs/annotation.md, CC BY 4.0) and shipped as
numbers (pipeline/data/tagger.npz, tagger.json); the threshold is chosen on BABE's
development sentences, which are never fitted on (docs/measurements.md).

Scare quotes (a short quoted phrase no one is said to have said) are found by rule and
scored by the words they hold: their probability is the highest of the quoted words', read by
the tagger in the same context, so quotation marks around a loaded word are reported and
quotation marks around a plain phrase (usually a speaker's words named in another sentence)
are not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.signals.attribution import attribute
from pipeline.signals.cues import outside_quotes
from pipeline.signals.framing import SCARE_QUOTE, Framing, FramingSpan, scare_quotes
from pipeline.signals.lexicons import KINDS, Match, lexicon
from pipeline.signals.subjectivity import classifier, embed_and_classify, logit
from pipeline.text.sentences import whole

Vector = NDArray[np.float32]
CANDIDATE = re.compile(r"[A-Za-z][A-Za-z’'-]*[A-Za-z]")
MIN_LETTERS = 3
FLOOR = 0.05  # candidates under this probability are not returned at all
LEXICON_FEATURES = ("vader", "pattern", "listed", *(f"kind_{k}" for k in KINDS))
FEATURES = (*LEXICON_FEATURES, "token_mean", "token_max", "sentence", "capitalised")


@dataclass(frozen=True)
class Candidate:
    """A word or listed phrase of a sentence, with what the lexicons say of it."""

    start: int
    end: int
    kind: Framing
    values: dict[str, float]
    sources: tuple[str, ...]


def _own_words(text: str, attributed: bool) -> str:
    own = outside_quotes(text)
    if attributed:  # short single-quoted phrases are quotations too
        own = SCARE_QUOTE.sub(lambda m: " " * len(m.group()), own)
    return own


def _from_match(match: Match) -> Candidate:
    scores = {e.source: e.score for e in match.entries}
    listed = [e for e in match.entries if e.source not in ("vader", "pattern")]
    kind = Framing(listed[0].kind) if listed else Framing.loaded_language
    values = {
        "vader": scores.get("vader", 0.0),
        "pattern": scores.get("pattern", 0.0),
        "listed": float(bool(listed)),
    }
    values |= {f"kind_{k}": float(any(e.kind == k for e in listed)) for k in KINDS}
    sources = tuple(dict.fromkeys(e.source for e in match.entries))
    return Candidate(match.start, match.end, kind, values, sources)


def candidates(text: str, *, attributed: bool = False) -> list[Candidate]:
    """The sentence's candidate words in its own voice, in order: listed phrases, then every
    other word of MIN_LETTERS letters or more (no lexicon values)."""
    own = _own_words(text, attributed)
    found = [_from_match(m) for m in lexicon().matches(own)]
    listed = bytearray(len(own))  # 1 where a listed phrase already covers the character
    for c in found:
        listed[c.start : c.end] = b"\x01" * (c.end - c.start)
    empty = dict.fromkeys(LEXICON_FEATURES, 0.0)
    for m in CANDIDATE.finditer(own):
        if len(m.group()) >= MIN_LETTERS and not any(listed[m.start() : m.end()]):
            found.append(Candidate(m.start(), m.end(), Framing.loaded_language, dict(empty), ()))
    return sorted(found, key=lambda c: c.start)


def feature_matrix(
    text: str,
    found: Sequence[Candidate],
    tokens: Vector,
    offsets: Sequence[tuple[int, int]],
    sentence_p: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each candidate's named features and its word pieces' mean state (rows in order), in a
    few array operations per sentence."""
    width = tokens.shape[1] if tokens.ndim == 2 else 0
    named = np.array([[c.values.get(f, 0.0) for f in FEATURES] for c in found], dtype=np.float64)
    named[:, FEATURES.index("sentence")] = logit(sentence_p)
    named[:, FEATURES.index("capitalised")] = [
        float(c.start > 0 and text[c.start].isupper()) for c in found
    ]
    if not len(offsets):
        return named, np.zeros((len(found), width))
    bounds = np.asarray(offsets, dtype=np.int64)
    spans = np.array([(c.start, c.end) for c in found], dtype=np.int64)
    # pieces[i, k]: word piece k overlaps candidate i
    pieces = (bounds[None, :, 0] < spans[:, 1:2]) & (spans[:, 0:1] < bounds[None, :, 1])
    count = pieces.sum(1)
    has = count > 0
    token_logits = classifier().token_logits(tokens)
    mean = (pieces @ token_logits) / np.maximum(count, 1)
    top = np.where(pieces, token_logits[None, :], -np.inf).max(1)
    named[has, FEATURES.index("token_mean")] = mean[has]
    named[has, FEATURES.index("token_max")] = top[has]
    states = (pieces.astype(np.float64) @ tokens) / np.maximum(count, 1)[:, None]
    return named, states


class Tagger:
    """The fitted logistic regression over named features and word-piece states."""

    def __init__(self, weights: dict[str, NDArray[np.float64]], meta: dict[str, Any]) -> None:
        self.mean, self.scale = weights["mean"], weights["scale"]
        self.coef, self.intercept = weights["coef"], float(weights["intercept"][0])
        self.meta = meta
        self.threshold = float(meta["threshold"])

    def probabilities(self, named: NDArray[np.float64], states: NDArray[np.float64]) -> Any:
        """P(loaded) per candidate row."""
        x = np.hstack([named, states])
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


@cache
def tagger() -> Tagger:
    """The shipped tagger, loaded once per process."""
    from pipeline.signals.subjectivity import _data

    with _data("tagger.npz").open("rb") as handle:
        loaded = np.load(handle)
        weights = {k: np.asarray(loaded[k], dtype=np.float64) for k in loaded.files}
    return Tagger(weights, json.loads(_data("tagger.json").read_text(encoding="utf-8")))


def threshold() -> float:
    """The probability at which a tagged word is reported (chosen on BABE's dev sentences)."""
    return tagger().threshold


def tag(
    text: str,
    tokens: Vector,
    offsets: Sequence[tuple[int, int]],
    sentence_p: float,
    *,
    attributed: bool = False,
) -> list[FramingSpan]:
    """Every candidate of one sentence at FLOOR or above, with its probability, and its scare
    quotes; ``tokens``/``offsets`` are the sentence's MiniLM word pieces."""
    quotes = scare_quotes(text, attributed)
    inside = [_quoted_words(text, q.start, q.end) for q in quotes]
    found = [
        c
        for c in candidates(text, attributed=attributed)
        if not any(q.start <= c.start and c.end <= q.end for q in quotes)
    ]
    every = found + [c for words in inside for c in words]
    if not every:
        return []
    named, states = feature_matrix(text, every, tokens, offsets, sentence_p)
    p = [round(float(x), 4) for x in tagger().probabilities(named, states)]
    out = [
        FramingSpan(c.start, c.end, text[c.start : c.end], c.kind, q)
        for c, q in zip(found, p[: len(found)], strict=True)
        if q >= FLOOR
    ]
    rest = p[len(found) :]
    for quote, words in zip(quotes, inside, strict=True):
        q, rest = max(rest[: len(words)], default=0.0), rest[len(words) :]
        if q >= FLOOR:
            out.append(replace(quote, probability=q))
    return sorted(out, key=lambda s: s.start)


def _quoted_words(text: str, start: int, end: int) -> list[Candidate]:
    """The candidate words inside a scare quote's marks, as offsets of the sentence."""
    inner = candidates(text[start + 1 : end - 1])
    shift = start + 1
    return [Candidate(c.start + shift, c.end + shift, c.kind, c.values, c.sources) for c in inner]


def named_source(text: str) -> bool:
    """Whether a one-sentence text cites a named source (the attribution rules): then its
    quoted words, single-quoted too, are the source's."""
    found = attribute(whole(text))[0]
    return found is not None and found.named


def tag_texts(
    texts: list[str], *, attributed: Sequence[bool] | None = None
) -> list[list[FramingSpan]]:
    """Each text tagged as a one-sentence article, in one MiniLM pass (the sentence
    classifier's, ``embed_and_classify``); ``attributed`` (one flag per text) defaults to the
    attribution rules, as for a sentence of an article."""
    scored = embed_and_classify(texts)
    flags = attributed if attributed is not None else [named_source(t) for t in texts]
    return [
        tag(t, tokens, offsets, float(p), attributed=a)
        for t, tokens, offsets, p, a in zip(
            texts, scored.tokens, scored.offsets, scored.probabilities, flags, strict=True
        )
    ]


def reported(spans: Sequence[FramingSpan]) -> list[FramingSpan]:
    """The spans at the reporting threshold."""
    cut = threshold()
    return [s for s in spans if s.probability >= cut]
