"""Word cues of how a sentence asserts: hedges (a guess), boosters (a judgement stated as
certain), evaluative intensifiers, the writer's first person, questions and exclamations.

The word lists are this project's own, short and generic (not tuned to any article); the
weight each cue gets is fitted on NewsSD-ENG with the other signals (train/combination.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEDGES = re.compile(  # longer phrases first: "could well" before "could"
    r"\b(?:could well|may well|would likely|is bound to|"
    r"may|might|could|possibly|potentially|perhaps|likely|unlikely|probably|presumably|"
    r"apparently|seemingly|allegedly|reportedly|appears? to|appeared to|seems? to|seemed to|"
    r"is expected to|are expected to|is set to|are set to|poised to|remains to be seen|"
    r"it is (?:likely|possible|evident|conceivable|plausible) that|speculat\w*|rumou?r\w*)\b",
    re.IGNORECASE,
)
BOOSTERS = re.compile(
    r"\b(?:clearly|obviously|evidently|undoubtedly|certainly|of course|without (?:a )?doubt|"
    r"it is (?:evident|clear|obvious) that|surely|indeed|the reality is|the truth is|"
    r"no one can deny|there is no question)\b",
    re.IGNORECASE,
)
INTENSIFIERS = re.compile(
    r"\b(?:very|extremely|deeply|highly|incredibly|hugely|utterly|totally|shocking\w*|"
    r"dramatic\w*|massive\w*|huge|disaster\w*|catastroph\w*|outrage\w*|"
    r"shameful|so-called|radical\w*|extremis\w*|sweeping|devastat\w*|unprecedented|"
    r"fraught|bold|crucial|vital|profound\w*|brutal\w*|blatant\w*|absurd\w*|ridiculous\w*|"
    r"disgrace\w*|scandal\w*|slam\w*|blast\w*|destroy\w*|reckless\w*|alarming\w*|"
    r"terrif\w*|horrif\w*|staggering|astonishing|remarkabl\w*|unbelievabl\w*|insane|"
    r"propaganda|regime)\b",
    re.IGNORECASE,
)
FIRST_PERSON = re.compile(r"\b(?:I|I’m|I'm|I’ve|I've|we|we’re|we're|our|us|my|me)\b")
QUOTE_MARKS = "“”\"‘’'"


@dataclass(frozen=True)
class Cues:
    """The cue words found in one sentence (outside quotation marks for the writer's voice)."""

    hedges: tuple[str, ...]
    boosters: tuple[str, ...]
    intensifiers: tuple[str, ...]
    first_person: bool
    question: bool
    exclamation: bool

    def vector(self) -> list[float]:
        """Numeric cue features, in the order of ``CUE_FEATURES``."""
        return [
            float(bool(self.hedges)),
            float(bool(self.boosters)),
            float(min(len(self.intensifiers), 3)),
            float(self.first_person),
            float(self.question),
            float(self.exclamation),
        ]


CUE_FEATURES = ("hedge", "booster", "intensifiers", "first_person", "question", "exclamation")


def outside_quotes(text: str) -> str:
    """The sentence with quoted passages blanked out (the writer's own words remain)."""
    return re.sub(r"“[^”]*”|\"[^\"]*\"", lambda m: " " * len(m.group()), text)


def cues(text: str) -> Cues:
    """Cues of one sentence; hedges, boosters and first person count outside quotations."""
    own = outside_quotes(text)
    stripped = text.rstrip().rstrip(QUOTE_MARKS).rstrip()
    return Cues(
        hedges=tuple(m.group() for m in HEDGES.finditer(own)),
        boosters=tuple(m.group() for m in BOOSTERS.finditer(own)),
        intensifiers=tuple(m.group() for m in INTENSIFIERS.finditer(text)),
        first_person=bool(FIRST_PERSON.search(own)),
        question=stripped.endswith("?"),
        exclamation=stripped.endswith("!"),
    )
