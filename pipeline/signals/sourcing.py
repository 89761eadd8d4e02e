"""One-sided sourcing, read from who the article lets speak.

A contested claim is an accusation: a sentence attributed to a source (named or not) whose
verb, in the active voice, accuses, blames or criticises a party named as its object ("Miller
accused Governor Reyes of..."; not "he is accused of", "an alleged attack"). It is
one-sided when the accused never speaks in the article (no sentence is
attributed to a source sharing a name with them) and the article reports no response at all
("declined to comment", "denied", "did not respond"). Rules, not a model: who speaks is in
the article's structure, and the rule says why it fired. Without an accusation a single
source is not flagged: a wire report of one official's statement quotes one official.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.signals.attribution import COMMON
from pipeline.signals.cues import outside_quotes
from schemas.sentence import Sentence

ACCUSATION = re.compile(
    r"\b(?:accus(?:e|es|ed|ing)|alleg(?:e|es|ed|ing)|blam(?:e|es|ed|ing)|"
    r"critici[sz](?:e|es|ed|ing)|condemn(?:s|ed|ing)?|denounc(?:e|es|ed|ing)|"
    r"slam(?:s|med|ming)?|lambast(?:s|ed|ing)?|blast(?:s|ed|ing)?|rebuk(?:e|es|ed|ing)|"
    r"fault(?:s|ed|ing)?)\b",
    re.IGNORECASE,
)
RESPONSE = re.compile(
    r"\b(?:declined to comment|(?:did|does) not (?:immediately )?(?:respond|reply|comment|"
    r"return)|could not (?:immediately )?be reached|no immediate (?:comment|response)|"
    r"den(?:y|ies|ied|ying)|refut(?:e|es|ed|ing)|rebut(?:s|ted|ting)?|"
    r"in (?:a |his |her |their )?(?:response|reply)|respond(?:s|ed|ing)|repl(?:y|ies|ied)|"
    r"hit back|push(?:ed)? back)\b",
    re.IGNORECASE,
)
NAME = re.compile(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*")
# Before the verb: passive voice ("is accused of"), or an adjective or noun ("an alleged
# attack", "drew a rebuke"): no one in the sentence accuses anyone.
NOT_ACTIVE = re.compile(
    r"\b(?:is|are|was|were|be|been|being|get|gets|got|had|who|which|a|an|the|its|his|her|"
    r"their)\s+$",
    re.IGNORECASE,
)
# After the verb: its object, a named party ("accused Governor Reyes of", "blamed the Kremlin
# for", "criticised 13th-placed Newcastle"): a determiner and one more word at most.
OBJECT = re.compile(r"\s+(?:(?:the|a|an)\s+)?(?:[a-z0-9][\w’'-]*\s+)?(?=[A-Z])")


@dataclass(frozen=True)
class OneSided:
    """An accusation with no word from the accused: ``text`` is ``body[start:end]``, the
    accusing words of sentence ``sentence``."""

    sentence: int
    start: int
    end: int
    text: str
    accuser: str
    accused: str


def _names(text: str) -> set[str]:
    """Capitalised words that name someone (sentence openers and function words left out)."""
    words = {
        w.replace("’", "'").removesuffix("'s")
        for m in NAME.finditer(text)
        for w in m.group().split()
    }
    return {w for w in words if w.lower() not in COMMON and len(w) > 1}


def _accusation(sentence: Sentence) -> OneSided | None:
    """The sentence's accusing words and whom they accuse, when its source accuses a party it
    names (quoted words aside: the accusation is the reporting verb, not the quote)."""
    found = sentence.attribution
    if found is None:
        return None
    own = outside_quotes(sentence.text)
    accuser = found.source.text if found.source is not None else "an unnamed source"
    for match in ACCUSATION.finditer(own):
        if NOT_ACTIVE.search(own[: match.start()]):
            continue
        target = OBJECT.match(own, match.end())
        name = NAME.match(own, target.end()) if target else None
        if name is not None and _names(name.group()) - _names(accuser):
            return OneSided(
                sentence=sentence.id,
                start=sentence.start + match.start(),
                end=sentence.start + match.end(),
                text=match.group(),
                accuser=accuser,
                accused=name.group(),
            )
    return None


def one_sided(sentences: Sequence[Sentence]) -> list[OneSided]:
    """The accusations in the article that the accused never answers (in article order)."""
    if any(RESPONSE.search(s.text) for s in sentences):
        return []
    speakers = set().union(
        *(
            _names(s.attribution.source.text)
            for s in sentences
            if s.attribution and s.attribution.source
        )
    )
    out = []
    for sentence in sentences:
        found = _accusation(sentence)
        if found is None:
            continue
        accuser = _names(found.accuser)
        if not _names(found.accused) & (speakers - accuser):
            out.append(found)
    return out
