"""Report rendering: JSON round-trips, Markdown shows what an editor needs first."""

from __future__ import annotations

import asyncio

from pipeline.config import load_settings
from pipeline.report import to_json, to_markdown
from pipeline.run import audit
from schemas import ArticleReport
from tests.fakes import FakeLLM
from tests.test_stages import _answers, _doc


def _report() -> ArticleReport:
    return asyncio.run(audit(_doc(), llm=FakeLLM(_answers()), settings=load_settings("/dev/null")))


def test_json_round_trips() -> None:
    report = _report()
    assert ArticleReport.model_validate_json(to_json(report)) == report


def test_markdown_shows_verdicts_evidence_bias_and_cost() -> None:
    md = to_markdown(_report())
    assert md.startswith("# Finance minister resigns\n")
    assert "**1 not supported by the article**" in md
    assert "**OPINION AS FACT**: The budget was a disaster for ordinary families." in md
    assert '- evidence: "the government said in a statement"' in md
    assert '- attributed in the article: "the government said in a statement"' in md
    assert '**loaded_language** (medium): "a disaster"' in md
    assert "neutral: Critics say the budget hurts families." in md
    assert "| total | 4 | 0 | 400 | 40 | n/a |" in md
