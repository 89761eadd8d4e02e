"""The word-level tagger: candidates from the cited lists, scored in context; spans are exact
slices of their sentence in the writer's own voice; the shipped weights say what they were
fitted on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pipeline.signals.framing import Framing
from pipeline.signals.lexicons import lexicon, verb_forms
from pipeline.signals.tagger import candidates, reported, tag_texts, tagger, threshold

ROOT = Path(__file__).resolve().parent.parent


def _reported(text: str) -> list[tuple[str, Framing]]:
    [found] = tag_texts([text])
    return [(s.text, s.kind) for s in reported(found)]


def test_loaded_modifiers_are_tagged_and_plain_ones_are_not() -> None:
    assert _reported("The radical senator pushed a disastrous plan.") == [
        ("radical", Framing.loaded_language),
        ("disastrous", Framing.loaded_language),
    ]
    assert ("smear", Framing.loaded_language) in _reported(
        "Extremist groups ran a smear campaign against the mayor."
    )


@pytest.mark.parametrize(
    "text",
    [
        "The city council approved the budget on Tuesday by a vote of 7 to 2.",
        "Police said two people were killed in the crash on Highway 9.",
        "The company reported revenue of $4.2 billion for the quarter.",
        "The storm is expected to reach the coast by Friday evening.",
    ],
)
def test_plain_wire_copy_gets_no_span(text: str) -> None:
    assert _reported(text) == []


def test_kinds_come_from_the_cited_lists() -> None:
    found = dict(_reported("Clearly, the minister has utterly failed the voters once again."))
    assert found["Clearly"] is Framing.opinion_as_fact
    assert found["utterly"] is Framing.intensifier
    slammed = dict(_reported("Critics slammed the bill."))
    assert slammed == {"slammed": Framing.framing_verb}


def test_the_same_word_gets_a_probability_from_its_context() -> None:
    first, second = tag_texts(
        ["The coach faced fierce criticism after the loss.", "A fierce storm hit the coast."]
    )
    p = [next(s.probability for s in found if s.text == "fierce") for found in (first, second)]
    assert p[0] != p[1]


def test_spans_are_exact_slices_of_the_writers_own_words() -> None:
    texts = [
        '"This is a disgraceful betrayal," the senator said of the reckless plan.',
        "It was clearly a disastrous, reckless and utterly shameful blunder.",
        "The mayor's critics call the project a 'shameful giveaway' to developers.",
    ]
    for text, found in zip(texts, tag_texts(texts), strict=True):
        assert found, text
        closing = text.index('"', 1) if text.startswith('"') else -1
        for span in found:
            assert text[span.start : span.end] == span.text
            assert 0 <= span.start < span.end <= len(text)
            assert span.start > closing, span  # nothing inside a quotation is the writer's


def test_scare_quotes_are_scored_by_the_words_they_hold() -> None:
    loaded, plain = tag_texts(
        [
            "The mayor's critics call the project a 'shameful giveaway' to developers.",
            "The board called the layoffs a 'necessary correction' in its letter.",
        ]
    )
    assert [s.kind for s in reported(loaded)] == [Framing.scare_quotes]
    assert reported(plain) == []
    # In a sentence citing a named source, the quoted words are the source's.
    [attributed] = tag_texts(
        ["Mayor Lee called the project a 'shameful giveaway' on Monday."], attributed=[True]
    )
    assert all(s.kind is not Framing.scare_quotes for s in attributed)


def test_every_word_is_a_candidate_and_listed_phrases_come_whole() -> None:
    found = candidates("Some people say the plan is a remarkable success.")
    texts = ["Some people say the plan is a remarkable success."[c.start : c.end] for c in found]
    assert "Some people say" in texts  # an unsupported attribution (Words to watch)
    assert "plan" in texts and "the" in texts
    listed = {t: c for t, c in zip(texts, found, strict=True)}
    assert listed["Some people say"].kind is Framing.speculation_as_fact
    assert listed["remarkable"].sources and not listed["plan"].sources


def test_listed_verbs_match_their_inflections() -> None:
    assert {"slams", "slammed", "slamming"} <= verb_forms("slam")
    assert {"concedes", "conceded", "conceding"} <= verb_forms("concede")
    assert {"denies", "denied"} <= verb_forms("deny")
    matches = lexicon().matches("She conceded the point and lashed out at reporters.")
    assert [(m.start, m.end) for m in matches][:1] == [(4, 12)]


def test_the_shipped_weights_name_their_data_and_threshold() -> None:
    meta = tagger().meta
    rows = ROOT / meta["data"]
    assert hashlib.sha256(rows.read_bytes()).hexdigest() == meta["data_sha256"]
    assert meta["threshold_chosen_on"] == "babe-dev.jsonl"  # chosen on it, never fitted on it
    assert threshold() == meta["threshold"]
    assert len(meta["features"]) == tagger().coef.shape[0]
    sources = {json.loads(line)["source"] for line in rows.read_text().splitlines()}
    assert sources == {"newssd-eng", "summedits-news"}
