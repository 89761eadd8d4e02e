"""Framing words in the writer's own voice, as character spans of a sentence.

Quoted words are the source's and never count: every pattern runs on the sentence with its
quotations blanked out (offsets kept), so a span is always the writer's word choice, also in
a sentence that quotes someone ("..., he stated, in another rare admission").

The word lists are this project's own, written from linguistic categories rather than from
any annotated lexicon: presupposing reporting verbs and nouns (factive "admit", "concede",
"confess"; the doubt-casting "claim"), emotive and dramatising words, partisan labels,
intensifiers, boosters that state a judgement as certain, an unnamed crowd's guess reported
as the state of things, and scare quotes (a short quoted phrase no one is said to have said).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pipeline.signals.cues import outside_quotes


class Framing(StrEnum):
    """What a framing span does to the reader."""

    framing_verb = "framing_verb"
    loaded_language = "loaded_language"
    intensifier = "intensifier"
    opinion_as_fact = "opinion_as_fact"
    speculation_as_fact = "speculation_as_fact"
    scare_quotes = "scare_quotes"


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


PATTERNS: dict[Framing, re.Pattern[str]] = {
    # Reporting verbs and nouns that presuppose the reported words are true and damaging
    # (admit, concede, confess), cast doubt on them (claim), or dramatise the speaker.
    Framing.framing_verb: _words(
        r"admit(?:s|ted|ting)?",
        r"admissions?",
        r"conced(?:e|es|ed|ing)",
        r"confess(?:es|ed|ing)?",
        r"confessions?",
        r"claim(?:s|ed)?\s+(?:that|to)",
        r"insist(?:s|ed|ing)?",
        r"boast(?:s|ed|ing)?",
        r"brag(?:s|ged|ging)?",
        r"lash(?:es|ed)? out",
        r"rail(?:s|ed)? against",
        r"slamm?(?:s|ed|ing)?",
        r"blast(?:s|ed|ing)?",
    ),
    # Emotive, dramatising and partisan words: they tell the reader how to feel.
    Framing.loaded_language: re.compile(
        r"\b(?:bombshell|shock\s?waves?|shocking|stunning|stark|reality check|"
        r"setbacks?|sharp (?:turn|reversal)|major blow|(?:a|another) blow|"
        r"betray(?:s|ed|al)?|capitulat\w*|appeasement|humiliat\w*|debacle|fiasco|chaos|"
        r"meltdown|propaganda|puppet|warmonger\w*|mainstream (?:western )?media|MSM|"
        r"so-called|talking points?|rampant|draconian|"
        r"(?:pro|anti)-(?!\d)[A-Za-z]+)\b",
        re.IGNORECASE,
    ),
    # Words that inflate what they qualify.
    Framing.intensifier: _words(
        r"rare",
        r"very",
        r"extremely",
        r"overwhelmingly",
        r"utterly",
        r"totally",
        r"absolutely",
        r"incredibly",
        r"hugely",
        r"massive(?:ly)?",
        r"dramatic(?:ally)?",
        r"staunch",
        r"unprecedented",
    ),
    # A judgement stated as certain: the reader is told, not shown.
    Framing.opinion_as_fact: _words(
        r"clearly",
        r"obviously",
        r"evidently",
        r"undoubtedly",
        r"inevitabl[ey]",
        r"apparently no",
        r"no lessons",
        r"the reality (?:is|has always been)",
        r"the truth is",
        r"it is (?:evident|clear|obvious) that",
        r"there is no (?:question|doubt)",
    ),
    # An unnamed crowd's guess, reported as the state of things.
    Framing.speculation_as_fact: re.compile(
        r"\b(?:speculation is (?:rampant|rife|growing)|"
        r"(?:many|some|others|observers|critics|analysts)\s+(?:are\s+|have\s+been\s+)?"
        r"(?:theoriz|theoris|speculat|believ|fear|suspect|wonder)\w*|"
        r"(?:many|some) (?:in|among) [A-Z]?\w+(?: [a-z]+)? (?:feel|believe|fear)\w*)",
        re.IGNORECASE,
    ),
}
SCARE_QUOTE = re.compile(r"(?<![\w’'])['‘\"“]([^'’\"”]{3,40})['’\"”](?![\w])")


@dataclass(frozen=True)
class FramingSpan:
    """One framing phrase: ``text[start:end]`` of the sentence it was found in."""

    start: int
    end: int
    text: str
    kind: Framing


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


def framing_spans(text: str, *, attributed: bool = False) -> list[FramingSpan]:
    """The writer's framing words in one sentence, in order; quoted words never count, and a
    sentence attributed to someone has no scare quotes (the quote is theirs)."""
    own = outside_quotes(text)
    if attributed:  # short single-quoted phrases are quotations too
        own = SCARE_QUOTE.sub(lambda m: " " * len(m.group()), own)
    found = scare_quotes(text, attributed)
    for kind, pattern in PATTERNS.items():
        found += [
            FramingSpan(m.start(), m.end(), text[m.start() : m.end()], kind)
            for m in pattern.finditer(own)
        ]
    found.sort(key=lambda s: (s.start, -s.end))
    kept: list[FramingSpan] = []
    for span in found:  # overlapping spans: the first (longest at a start) stands
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept
