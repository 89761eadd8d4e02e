"""Explaining a failed statement: the part that failed and the specifics the article lacks."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.core.config import load_settings
from pipeline.run import verify
from pipeline.signals.statement_parts import check_parts, explain_parts, parts, weakest
from pipeline.text.ingest import RawDocument
from schemas.verification import Support
from tests.fakes import FakeLLM

SENTENCES = [
    "Finance minister Ana Ruiz was dismissed on Monday, the government said.",
    "The budget was approved in March by 181 votes to 169.",
    "The plan will cost 2.5 million dollars and cut spending by 20 per cent.",
    "Officials in the United States welcomed the vote.",
]
DOCUMENT = "\n".join(SENTENCES)
EVIDENCE = list(enumerate(SENTENCES, start=1))


def test_a_statement_splits_at_its_clauses_and_short_pieces_join_a_neighbour() -> None:
    assert parts("Ruiz resigned in 2019 after the budget was approved by 181 votes.") == [
        "Ruiz resigned in 2019",
        "after the budget was approved by 181 votes",
    ]
    assert parts("The budget passed, he said.") == ["The budget passed he said"]


def test_the_failed_part_names_its_word_and_what_the_closest_sentence_says_instead() -> None:
    said = explain_parts("Ana Ruiz resigned on Monday.", DOCUMENT, EVIDENCE)
    assert said == ["'resigned' is not supported: s1 says 'was dismissed'"]
    said = explain_parts("The budget was rejected in March by 181 votes.", DOCUMENT, EVIDENCE)
    assert said == ["'rejected' is not supported: s2 says 'approved'"]


def test_the_weakest_part_decides_and_a_backed_part_is_not_named() -> None:
    checks = check_parts(
        "The budget was approved in March, after Ruiz resigned in 2019.", DOCUMENT, EVIDENCE
    )
    assert [c.missing for c in checks] == [(), ("2019",)]
    part = weakest(checks)
    assert part is not None and part.text == "after Ruiz resigned in 2019"
    said = explain_parts(
        "The budget was approved in March, after Ruiz resigned in 2019.", DOCUMENT, EVIDENCE
    )
    assert said[0] == "'2019' is not in the article"
    assert said[1].startswith("'resigned' is not supported")


@pytest.mark.parametrize(
    "statement",
    [
        "The plan costs $2,500,000 and cuts spending by 20%.",  # number formats
        "The plan will cost 2.5m dollars.",
        "US officials welcomed the vote.",  # an alias of a name the article spells out
        "Officials in the U.S. welcomed the vote.",
    ],
)
def test_specifics_are_looked_up_in_the_whole_article_with_aliases_and_number_formats(
    statement: str,
) -> None:
    # only the first sentence is evidence: the specifics are elsewhere in the article
    assert explain_parts(statement, DOCUMENT, EVIDENCE[:1]) == []


@pytest.mark.parametrize(
    ("statement", "missing"),
    [
        ("The plan will cost 3.5 million dollars.", "3.5 million"),
        ("Officials in France welcomed the vote.", "France"),
        ("The budget was approved in April.", "april"),
    ],
)
def test_a_specific_the_article_never_gives_is_named(statement: str, missing: str) -> None:
    assert f"'{missing}' is not in the article" in explain_parts(statement, DOCUMENT, EVIDENCE)


def test_verify_explains_an_unsupported_verdict_by_its_failed_part() -> None:
    doc = RawDocument(id="ruiz", source="ruiz.txt", kind="text", content=DOCUMENT)
    settings = load_settings("/dev/null")
    settings.judgments.model_signal = "logprobs"
    doubting = FakeLLM({}, probe=lambda _messages: {"A": 0.1, "B": 0.1, "C": 0.8})
    report = asyncio.run(
        verify(doc, ["Ana Ruiz resigned in 2019."], llm=doubting, settings=settings)
    )
    (check,) = report.checks
    assert check.verdict is not Support.supported
    assert check.problems[0] == "'2019' is not in the article"
    assert "'resigned' is not supported: s" in check.problems[1]
    assert "was dismissed" in check.problems[1]
    # the same missing date is not reported twice (once for the article, once the evidence)
    assert sum("2019" in p for p in check.problems) == 1
