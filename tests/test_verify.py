"""Statements checked against an article: inputs, verdicts, the grounded summary, the CLI."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.core.config import load_settings
from pipeline.core.errors import InputError
from pipeline.run import verify
from pipeline.text.ingest import RawDocument, parse_statements
from schemas.verification import Support, VerifyReport
from tests.fake_server import FakeServer
from tests.fakes import FakeLLM

TEXT = """Minister Quits Over Budget Row

Finance minister Ana Ruiz resigned on Monday, the government said in a statement.
The budget was approved in March by 181 votes to 169.
Ruiz had warned that the cuts would close 40 hospitals in the north.
"""


def _doc() -> RawDocument:
    return RawDocument(id="ruiz", source="ruiz.txt", kind="text", content=TEXT)


def _says(letter: str) -> dict[str, float]:
    return {k: (0.8 if k == letter else 0.1) for k in "ABC"}


def _by_statement(messages: list[dict[str, str]]) -> dict[str, float]:
    """The model agrees with the statements that copy the article and doubts the others."""
    question = messages[-1]["content"].split("STATEMENT:", 1)[-1]
    if "Monday" in question and "resigned" in question:
        return _says("A")
    if "Tuesday" in question or "did not resign" in question:
        return _says("B")
    return _says("C")


def _verified(
    statements: list[str],
    probe: Callable[[list[dict[str, str]]], dict[str, float]],
    doc: RawDocument | None = None,
) -> VerifyReport:
    """verify() on ``doc`` (default the Ruiz article), each one-letter question answered by
    ``probe``."""
    settings = load_settings("/dev/null")
    settings.judgments.model_signal = "logprobs"
    llm = FakeLLM({}, probe=probe)
    return asyncio.run(verify(doc or _doc(), statements, llm=llm, settings=settings))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"One.\n\n  Two  statements.\n", ["One.", "Two statements."]),
        (b'["First one.", " Second\\n one. "]', ["First one.", "Second one."]),
    ],
)
def test_statements_come_one_per_line_or_as_a_json_list(data: bytes, expected: list[str]) -> None:
    assert parse_statements(data, "s.txt") == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "s.txt: empty input"),
        (b"   \n\n", "s.txt: only whitespace"),
        (b'["unclosed', "s.txt: not valid JSON"),
        (b'["ok", 3]', "s.txt: a JSON input must be a list of strings"),
        (b'[" ", ""]', "s.txt: no statements to check"),
    ],
)
def test_bad_statement_inputs_name_the_input_and_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_statements(data, "s.txt")


def test_statements_are_judged_with_their_evidence_sentences() -> None:
    statements = [
        "Ana Ruiz resigned as finance minister on Monday.",
        "Ana Ruiz resigned on Tuesday after 212 votes.",
        "The cuts would close 40 hospitals in the north, Ruiz warned.",
    ]
    report = _verified(statements, _by_statement)
    first, altered, hospitals = report.checks
    assert first.verdict is Support.supported and 1 in first.evidence
    assert first.evidence_text[first.evidence.index(1)].startswith("Finance minister Ana Ruiz")
    assert altered.verdict is Support.contradicted
    assert altered.probability < first.probability
    assert any("212" in p for p in altered.problems)  # the article has no such number
    assert 3 in hospitals.evidence
    assert report.calls == 3 and report.headline is None


def test_a_near_verbatim_restatement_stands_even_when_the_model_doubts_it() -> None:
    """The combination is fitted on paraphrases; a sentence restated word for word, its
    numbers and names in place, is supported by construction. Change one number and the
    rule no longer applies."""
    statements = [
        "The budget was approved in March by 181 votes to 169.",
        "The budget was approved in March by 191 votes to 169.",
    ]
    copied, changed = _verified(statements, lambda _messages: _says("C")).checks
    assert copied.restated and copied.verdict is Support.supported
    assert not changed.restated and changed.verdict is not Support.supported
    assert any("191" in p for p in changed.problems)


def test_the_articles_own_headline_can_be_checked() -> None:
    settings = load_settings("/dev/null")
    report = asyncio.run(
        verify(_doc(), [], llm=FakeLLM({}, probe=_by_statement), settings=settings, headline=True)
    )
    assert report.checks == []
    assert (
        report.headline is not None
        and report.headline.statement == "Minister Quits Over Budget Row"
    )


def test_a_statement_longer_than_the_article_is_refused_by_number() -> None:
    with pytest.raises(InputError, match=r"ruiz\.txt: statement 2 is longer than the article"):
        asyncio.run(
            verify(
                _doc(), ["Short.", "x " * 400], llm=FakeLLM({}), settings=load_settings("/dev/null")
            )
        )


def test_verify_on_the_command_line(tmp_path: Path) -> None:
    article = tmp_path / "ruiz.txt"
    article.write_text(TEXT, encoding="utf-8")
    statements = tmp_path / "statements.txt"
    statements.write_text("Ana Ruiz resigned on Monday.\nThe budget passed in March.\n")
    runner = CliRunner()
    fake = FakeServer()
    with fake.running():
        base = ["verify", str(article), "--model", "openai/fake", "--api-base", fake.base_url]
        result = runner.invoke(app, [*base, "--statements", str(statements), "--format", "json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert [c["statement"] for c in report["checks"]] == statements.read_text().splitlines()
        assert all(0 <= c["probability"] <= 1 and c["evidence"] for c in report["checks"])
        markdown = runner.invoke(app, [*base, "--statements", str(statements), "--headline"])
        assert markdown.exit_code == 0
        assert "## Statement 1:" in markdown.stdout and "own headline" in markdown.stdout
        empty = tmp_path / "empty.txt"
        empty.write_text("\n\n")
        failed = runner.invoke(app, [*base, "--statements", str(empty)])
        assert failed.exit_code == 2
        assert "empty.txt: only whitespace" in failed.stderr
        bad = tmp_path / "bad.json"
        bad.write_text('["one", ')
        failed = runner.invoke(app, [*base, "--statements", str(bad)])
        assert failed.exit_code == 2 and "bad.json: not valid JSON" in failed.stderr
        nothing = runner.invoke(app, base)
        assert nothing.exit_code == 2 and "--statements" in nothing.stderr
    # Bad inputs fail before any model call.
    assert sum(fake.requests.values()) == 5  # two statements, then two and the headline


def test_a_number_date_or_name_the_whole_article_never_gives_is_not_supported() -> None:
    """The unbacked rule: the model says yes, but 45, 2019 and Pedro Sanchez are in no
    sentence of the article (in any form); forty, and Ruiz for Ana Ruiz, are."""
    statements = [
        "Ruiz had warned that the cuts would close 45 hospitals in the north.",
        "Ana Ruiz resigned on Monday in 2019, the government said.",
        "Pedro Sanchez had warned that the cuts would close 40 hospitals in the north.",
        "Ruiz had warned that the cuts would close forty hospitals in the north.",
    ]
    changed, dated, named, spelled = _verified(statements, lambda _messages: _says("A")).checks
    assert changed.unbacked == ["45"] and changed.verdict is not Support.supported
    assert dated.unbacked == ["2019"] and dated.verdict is not Support.supported
    assert "'2019' is not in the article" in dated.problems
    assert named.unbacked == ["Pedro Sanchez"] and named.verdict is not Support.supported
    assert spelled.unbacked == [] and spelled.verdict is Support.supported


def test_a_one_word_edit_of_a_sentence_is_not_a_restatement() -> None:
    """Near-verbatim with a content word the evidence lacks ("rejected" for "approved") goes
    to the combination, not the restatement rule; the same words reordered still restate."""
    statements = [
        "The budget was rejected in March by 181 votes to 169.",
        "In March the budget was approved by 181 votes to 169.",
    ]
    edited, reordered = _verified(statements, lambda _messages: _says("C")).checks
    assert not edited.restated and edited.verdict is not Support.supported
    assert "'rejected' is not supported" in edited.problems[0]
    assert reordered.restated and reordered.verdict is Support.supported


def test_the_model_reads_the_whole_article_when_it_is_short_and_the_closest_sentences_else() -> (
    None
):
    """Up to WHOLE_ARTICLE_WORDS the whole body is every statement's context (the server
    caches it from one statement to the next); past it, the three retrieved sentences."""
    from pipeline.stages.verify import WHOLE_ARTICLE_WORDS

    asked: list[str] = []

    def recording(messages: list[dict[str, str]]) -> dict[str, float]:
        asked.append(messages[-1]["content"])
        return _says("A")

    statement = ["Ana Ruiz resigned on Monday."]
    _verified(statement, recording)
    assert all(f"[{n}]" in asked[-1] for n in (1, 2, 3)) and "40 hospitals" in asked[-1]
    filler = " ".join(
        f"Paragraph {n} describes the weather in the northern hills at some length today."
        for n in range(WHOLE_ARTICLE_WORDS // 10)
    )
    long_doc = RawDocument(
        id="long", source="long.txt", kind="text", content=TEXT + "\n" + filler + "\n"
    )
    _verified(statement, recording, long_doc)
    shown = [line for line in asked[-1].splitlines() if line.startswith("[")]
    assert len(shown) <= 3 and any("Ana Ruiz" in line for line in shown)
