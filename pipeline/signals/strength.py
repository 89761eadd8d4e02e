"""How strongly an unsupported assertion asserts: what an editor must see first.

An unsupported sentence (pipeline.signals.labels) is ranked by a strength in [0, 1]: a bare
assertion or a judgement stated in the article's own voice starts strong, a hedged guess
(the writer's mild interpretation) starts weak; a serious allegation (crimes, covert action,
fraud), a sweeping or certain wording, and framing words make it stronger; hedges make it
milder; a plain statement the classifier does not find subjective, with no framing word,
stays mild (background in wire copy). The weights are this project's own reading of what an
editor weighs, not fitted; strong ones (at ``STRONG``) are listed, the rest folded.
"""

from __future__ import annotations

import re

from pipeline.signals.framing import Framing, FramingSpan
from schemas.sentence import Sentence, SentenceLabel

STRONG = 0.5
BASE = {
    SentenceLabel.fact_unsupported: 0.55,
    SentenceLabel.opinion: 0.5,
    SentenceLabel.attributed_unnamed: 0.5,
    SentenceLabel.speculation: 0.3,
}
ALLEGATION = re.compile(
    r"\b(?:accus\w*|alleg\w*|crimes?|criminal|corrupt\w*|fraud\w*|brib\w*|launder\w*|"
    r"rigg\w*|coup|plot\w*|conspir\w*|cover(?:ed)?[- ]up|secret(?:ly)?|covert\w*|"
    r"CIA|intelligence (?:agenc\w*|services?)|spy\w*|espionage|funded|financ\w* by|"
    r"war crimes?|genocide|massacre\w*|tortur\w*|murder\w*|kill\w*|lie[sd]?|lying|"
    r"propaganda|terroris\w*|abus\w*|illegal\w*|unlawful\w*|sanction\w*)\b",
)
SWEEPING = re.compile(
    r"\b(?:always|never|everyone|nobody|no one|all of|entirely|completely|"
    r"overwhelmingly|by and large|at this point|holds? the cards)\b",
    re.IGNORECASE,
)
BACKGROUND_BELOW = 0.35  # P(subjective) under which a plain bare statement is background


def strength(sentence: Sentence, spans: list[FramingSpan]) -> float:
    """How strongly an unsupported sentence asserts (0 for a supported one)."""
    base = BASE.get(sentence.label)
    if base is None:
        return 0.0
    signals = sentence.signals
    subjective = signals.subjective if signals else 0.5
    hedged = bool(signals and signals.hedges)
    framing = [s for s in spans if s.kind is not Framing.intensifier]
    value = base + 0.3 * (subjective - 0.5)
    alleges = bool(ALLEGATION.search(sentence.text))
    if alleges:
        value += 0.3
    if SWEEPING.search(sentence.text) or any(s.kind is Framing.opinion_as_fact for s in spans):
        value += 0.2
    value += min(0.2, 0.1 * len(framing))
    if hedged:
        value -= 0.15
    plain = not (framing or hedged or alleges) and subjective < BACKGROUND_BELOW
    if sentence.label is SentenceLabel.fact_unsupported and plain:
        value = min(value, STRONG - 0.1)
    return round(min(1.0, max(0.0, value)), 4)
