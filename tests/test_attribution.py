"""Attribution rules on real-looking news sentences, both directions."""

from __future__ import annotations

import pytest

from pipeline.signals.attribution import attribute
from pipeline.text.sentences import segment
from schemas.article import Article

NAMED = [
    ("Rutte emphasized that any guarantees would follow a ceasefire.", "emphasized", "Rutte"),
    ("Rutte further ruled out any official NATO involvement.", "ruled out", "Rutte"),
    ("According to Reuters, the talks collapsed on Friday.", "According to ", "Reuters"),
    ("“We will not back down,” said Prime Minister Keir Starmer.", "said", "Prime Minister"),
    ("The ministry said the strike hit a depot.", "said", "The ministry"),
    ("Luxembourg’s foreign minister Xavier Bettel opposed the plan.", "opposed", "Luxembourg’s"),
    (
        "Speaking to Bloomberg on Friday, Rutte admitted that priorities are shifting.",
        "Speaking to ",
        "Bloomberg",
    ),
    ("Rutte, NATO’s secretary general, told reporters the door was open.", "told", "Rutte"),
    (
        "Rutte’s predecessor Jens Stoltenberg made an admission in a 2023 speech stating that "
        "the bloc would not stop.",
        "stating",
        "Rutte’s predecessor Jens Stoltenberg",
    ),
]
UNNAMED = [
    "Critics say the deal rewards aggression.",
    "Officials said the figures were preliminary.",
    "Many analysts believe the ceasefire will not hold.",
]
OWN_VOICE = [
    "This news has sent shockwaves through international relations.",
    "Reactions to the announcement have been mixed.",
    "This statement signals a potential shift in NATO’s approach.",
    "It is evident that his influence may have played a role in the decision to announce it.",
    "I don’t know what Trump told Rutte behind closed doors.",
    "What did Trump say to Rutte during their meeting?",
    "Rutte just met with Trump in Washington on Thursday, and then said this...",
    "NATO member states have sent billions in aid since 2022.",
]


def _one(text: str):  # type: ignore[no-untyped-def]
    return attribute(segment(Article(id="x", paragraphs=[text])))[0]


@pytest.mark.parametrize(("text", "cue", "source"), NAMED)
def test_a_named_source_is_found_with_its_words(text: str, cue: str, source: str) -> None:
    found = _one(text)
    assert found is not None and found.named, text
    assert found.cue.text == cue
    assert found.source is not None and found.source.text.startswith(source)
    # Spans are slices of the body.
    assert text[found.cue.start : found.cue.end] == found.cue.text
    assert text[found.source.start : found.source.end] == found.source.text


@pytest.mark.parametrize("text", UNNAMED)
def test_unnamed_sources_are_told_apart(text: str) -> None:
    found = _one(text)
    assert found is not None and not found.named, text


@pytest.mark.parametrize("text", OWN_VOICE)
def test_the_articles_own_voice_has_no_attribution(text: str) -> None:
    assert _one(text) is None, text


def test_a_pronoun_and_a_quotation_take_the_speaker_named_before() -> None:
    article = Article(
        id="x",
        paragraphs=[
            "Rutte outlined the alliance’s priority at the summit.",
            "“Let’s not forget what was decided in 2008.",
            "We commit, and we keep our word.”",
            "He noted that talks must come first. Instead, the markets rallied.",
        ],
    )
    found = attribute(segment(article))
    assert [a is not None and a.named for a in found] == [True, True, True, True, False]
    quote = found[1]
    assert quote is not None and quote.sentence == 1 and quote.source is not None
    assert quote.source.text == "Rutte"
    assert found[2] is not None and found[2].sentence == 1  # the quotation goes on
    assert found[3] is not None and found[3].source is not None
    assert found[3].source.text == "He" and found[3].sentence == 4


def test_a_pronoun_with_no_one_named_before_is_not_a_named_source() -> None:
    found = _one("He said the plan would fail.")
    assert found is not None and not found.named
