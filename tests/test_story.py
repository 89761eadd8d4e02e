"""Cross-source story comparison of the five seeds, replayed from a cassette recorded on the
embedded model (the per-article reports come from the seed cassettes)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.llm import LLM
from pipeline.report import story_to_html, story_to_markdown
from pipeline.stages.story import compare_story
from schemas.claims import Claim
from schemas.report import ArticleReport, ClaimAudit
from schemas.story import StoryReport
from tests.conftest import EXAMPLES, SEEDS, make_vcr, replay_settings
from tests.fake_server import FakeServer, synthetic_records
from tests.fakes import FakeLLM
from tests.test_html import render_in_browser

CASSETTE = "story/seeds.yaml"


@pytest.fixture(scope="module")
def story(
    seed_reports: dict[str, ArticleReport],
    recording: bool,
    record_mode: str,
    model_endpoint: tuple[str, str],
) -> StoryReport:
    model, api_base = model_endpoint
    llm = LLM(replay_settings(), model=model, api_base=api_base)
    with make_vcr(recording, record_mode).use_cassette(CASSETTE):
        return asyncio.run(compare_story([seed_reports[s] for s in SEEDS], llm=llm))


def test_one_call_compares_the_story(story: StoryReport) -> None:
    assert story.compare_stage.calls - story.compare_stage.reasks == 1
    assert [s.letter for s in story.sources] == list("ABCDE")


def test_every_quote_is_its_own_sources_words(
    story: StoryReport, seed_reports: dict[str, ArticleReport]
) -> None:
    by_letter = {s.letter: seed_reports[f"{s.id}.txt"] for s in story.sources}
    for claim in story.claims:
        for letter, quotes in {**claim.asserted_by, **claim.contradicted_by}.items():
            text = " ".join(by_letter[letter].article.text.split())
            assert all(" ".join(q.split()) in text for q in quotes)
        stances = set(claim.asserted_by) | set(claim.contradicted_by) | set(claim.silent)
        assert stances == set("ABCDE") and not set(claim.asserted_by) & set(claim.silent)


def test_the_story_renders_as_markdown_and_html(story: StoryReport) -> None:
    markdown = story_to_markdown(story)
    assert markdown.count("\n| ") >= 1 + sum(not c.single_source for c in story.claims)
    page = story_to_html(story)
    assert page.count('<tr class="single"') + page.count('<tr class="shared"') == len(story.claims)
    assert "<script" not in page and "http" not in page.split("<body>")[1]


def _claim(quote: str) -> dict[str, object]:
    return {"claim": quote, "quote": quote, "speaker": None, "type": "reported_fact"}


def _report(ident: str, quotes: list[str]) -> ArticleReport:
    base = ArticleReport.model_validate_json((EXAMPLES / "002_91cb02791afa4ef3.json").read_text())
    article = base.article.model_copy(update={"id": ident, "paragraphs": [" ".join(quotes)]})
    claims = [
        ClaimAudit(number=n, claim=Claim.model_validate(_claim(q)), verdict=None)
        for n, q in enumerate(quotes, start=1)
    ]
    return base.model_copy(update={"article": article, "claims": claims})


def test_groups_become_stances_single_source_claims_and_omissions() -> None:
    reports = [
        _report("a", ["Rutte met Trump.", "Membership is off the table."]),
        _report("b", ["Membership is no longer on the agenda.", "Rutte met Trump in Washington."]),
        _report("c", ["Membership remains possible.", "It rained in Brussels."]),
        _report("d", ["It rained in Brussels on Monday.", "It rained in Brussels."]),
    ]
    answer = {
        "groups": [
            {
                "statement": "membership off the table",
                "claims": ["A2", "B1"],
                "contradicting": ["C1"],
                "note": None,
            },
            {"statement": "Rutte met Trump", "claims": ["a1", "B2", "Z9"], "note": None},
        ],
        "different_events": [],
    }
    llm = FakeLLM({"story": [answer]})
    with pytest.raises(ValidationError, match="unknown claim ids"):
        asyncio.run(compare_story(reports, llm=llm))
    answer["groups"][1]["claims"] = ["a1", "B2"]  # type: ignore[index]
    story = asyncio.run(compare_story(reports, llm=FakeLLM({"story": [answer]})))
    first, second, *rest = story.claims
    assert first.asserted_by == {
        "A": ["Membership is off the table."],
        "B": ["Membership is no longer on the agenda."],
    }
    assert first.contradicted_by == {"C": ["Membership remains possible."]}
    assert first.silent == ["D"] and second.silent == ["C", "D"]
    # Left ungrouped by the model: C2 and D1 are the same fact in nearly the same words (one
    # per source); D2 repeats D's own claim, so it stays apart.
    rain, alone = rest
    assert rain.asserted_by == {
        "C": ["It rained in Brussels."],
        "D": ["It rained in Brussels on Monday."],
    }
    assert alone.single_source and not first.single_source
    framing = {f.letter: f for f in story.framing}
    assert framing["C"].omits == ["Rutte met Trump"]
    assert framing["A"].omits == ["It rained in Brussels."]


def test_a_real_browser_renders_the_story_matrix(story: StoryReport, tmp_path: Path) -> None:
    dom = render_in_browser(story_to_html(story), tmp_path, "story.png", 1600)
    assert dom.count("data-claim=") == len(story.claims)
    assert dom.count('class="cell ') == len(story.claims) * len(story.sources)


def test_the_story_command_writes_json_markdown_and_html(
    tmp_path: Path, server: FakeServer
) -> None:
    paths = []
    for record in synthetic_records(2):
        path = tmp_path / f"{record['id']}.json"
        path.write_text(json.dumps(record), encoding="utf-8")
        paths.append(str(path))
    out = tmp_path / "story"
    result = CliRunner().invoke(
        app,
        [
            "story",
            *paths,
            "--out",
            str(out),
            "--model",
            "openai/fake-model",
            "--api-base",
            server.base_url,
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "story.html",
        "story.json",
        "story.md",
        "syn-0.json",
        "syn-1.json",
    ]
    saved = StoryReport.model_validate_json((out / "story.json").read_text())
    assert [s.id for s in saved.sources] == ["syn-0", "syn-1"]
    assert "# Story: 2 sources compared" in result.output


def test_a_story_needs_two_articles(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["story", "one.txt", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "at least two articles" in result.output
