"""Framing spans: the kinds of slanting words, a span of a sentence, and scare quotes.

The words themselves are found by the tagger (pipeline.signals.tagger) from cited word lists
(pipeline/data/lexicons/) and scored in context; scare quotes (a short quoted phrase no one is
said to have said) are found here by rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from schemas.sentence import Sentence


class Framing(StrEnum):
    """What a framing span does to the reader."""

    framing_verb = "framing_verb"
    loaded_language = "loaded_language"
    intensifier = "intensifier"
    opinion_as_fact = "opinion_as_fact"
    speculation_as_fact = "speculation_as_fact"
    scare_quotes = "scare_quotes"


SCARE_QUOTE = re.compile(r"(?<![\w’'])['‘\"“]([^'’\"”]{3,40})['’\"”](?![\w])")


@dataclass(frozen=True)
class FramingSpan:
    """One framing phrase: ``text[start:end]`` of the sentence it was found in."""

    start: int
    end: int
    text: str
    kind: Framing
    probability: float = 1.0  # the tagger's P(loaded) in context


def scare_quotes(text: str, attributed: bool) -> list[FramingSpan]:
    """Short quoted phrases (five words at most, not punctuated as a quotation) in a sentence
    that says no one said them."""
    if attributed:
        return []
    out = []
    for m in SCARE_QUOTE.finditer(text):
        words = m.group(1)
        # A quotation punctuated inside its marks ("..., he said") reports words; a scare
        # quote does not.
        if len(words.split()) <= 5 and not words.rstrip().endswith((".", ",", "!", "?")):
            out.append(FramingSpan(m.start(), m.end(), m.group(), Framing.scare_quotes))
    return out


def sentence_spans(sentence: Sentence) -> list[FramingSpan]:
    """The tagger's words of a labelled sentence (kept in its signals), as spans of the
    sentence's own text."""
    if sentence.signals is None:
        return []
    return [
        FramingSpan(
            w.start - sentence.start,
            w.end - sentence.start,
            w.text,
            Framing(w.kind),
            w.probability,
        )
        for w in sentence.signals.framing
    ]
