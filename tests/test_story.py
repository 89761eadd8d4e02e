"""Cross-source story comparison of the five seeds, replayed from a cassette recorded on the
embedded model (the per-article reports come from the seed cassettes)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.core.config import StorySettings
from pipeline.model.llm import LLM
from pipeline.model.local_model import embedding_dir
from pipeline.report import story_to_html, story_to_markdown, write_story
from pipeline.signals.embeddings import MiniLM
from pipeline.signals.story_matching import TIE, candidate_groups, most_central, ranked, reaches
from pipeline.stages.story import compare_story, title_details
from schemas.claims import Claim
from schemas.report import ArticleReport, ClaimAudit
from schemas.story import CrossClaim, StoryReport
from tests.conftest import EXAMPLES, SEEDS, make_vcr, replay_settings
from tests.fake_server import FakeServer, synthetic_records
from tests.fakes import FakeLLM
from tests.report_fixtures import small_report
from tests.test_html import render_in_browser

FIXTURES = Path(__file__).parent / "fixtures"

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
        story = asyncio.run(compare_story([seed_reports[s] for s in SEEDS], llm=llm))
    if recording:
        write_story(EXAMPLES / "story", story)
    return story


def test_one_event_call_per_source_and_one_comparison(story: StoryReport) -> None:
    assert story.event_stage is not None and story.event_stage.calls == 5
    assert story.compare_stage.calls - story.compare_stage.reasks == 1
    assert [s.letter for s in story.sources] == list("ABCDE")


def test_every_quote_is_its_own_sources_words(
    story: StoryReport, seed_reports: dict[str, ArticleReport]
) -> None:
    by_letter = {s.letter: seed_reports[f"{s.id}.txt"] for s in story.sources}
    for claim in story.claims:
        stances = {**claim.asserted_by, **claim.contradicted_by, **claim.other_event}
        for letter, quotes in stances.items():
            text = " ".join(by_letter[letter].article.text.split())
            assert all(" ".join(q.split()) in text for q in quotes)
        assert set(stances) | set(claim.silent) == set("ABCDE")
        assert not set(stances) & set(claim.silent)


def _widest(story: StoryReport) -> CrossClaim:
    return max(story.claims, key=lambda c: len(c.asserted_by))


def test_the_membership_statement_is_matched_across_three_sources(story: StoryReport) -> None:
    # The fact most sources share is Rutte's word that membership is off the table: each
    # source's own quote says so, and at least three sources carry it.
    fact = _widest(story)
    assert len(fact.asserted_by) >= 3
    for quotes in fact.asserted_by.values():
        assert any(re.search(r"membership|joining the alliance", q) for q in quotes)


def test_seed_004_is_marked_as_another_meeting_not_merged(story: StoryReport) -> None:
    # 004 (E) reports Rutte at a NATO meeting in Brussels, the others his Washington meeting
    # with Trump: E is set apart, and its words are not counted as confirming the others'.
    events = {e.letter: e for e in story.events}
    assert events["E"].different and not any(events[x].different for x in "ABCD")
    assert events["E"].place == "Brussels"
    assert any(line.startswith("E reports") for line in story.different_events)
    shared = [c for c in story.claims if set(c.asserted_by) - {"E"}]
    for fact in shared:  # E never confirms nor contradicts what another source reports
        assert "E" not in fact.asserted_by and "E" not in fact.contradicted_by
    set_apart = [c for c in shared if "E" in c.other_event]
    assert set_apart  # where its words sit with another source's fact, they are set apart
    assert all("different meeting" in (c.note or "") for c in set_apart)


def test_the_committed_story_example_is_this_recording(story: StoryReport) -> None:
    folder = EXAMPLES / "story"
    saved = StoryReport.model_validate_json((folder / "story.json").read_text())
    # Everything but the wall-clock seconds, which a replay does not reproduce.
    timed = story.model_copy(deep=True)
    timed.compare_stage.seconds = saved.compare_stage.seconds
    assert timed.event_stage is not None and saved.event_stage is not None
    timed.event_stage.seconds = saved.event_stage.seconds
    assert saved == timed
    assert (folder / "story.md").read_text() == story_to_markdown(timed)
    assert (folder / "story.html").read_text() == story_to_html(timed)


def test_trumps_title_differs_between_the_seeds(story: StoryReport) -> None:
    (trump,) = [d for d in story.details if d.subject.endswith("Trump")]
    assert trump.versions["former President"] == ["A", "B"]
    assert trump.versions["President"] == ["C"]
    assert "U.S. President Donald Trump" in trump.quotes["C"]


def test_the_story_renders_as_markdown_and_html(story: StoryReport) -> None:
    markdown = story_to_markdown(story)
    assert markdown.count("\n| ") >= 1 + sum(not c.single_source for c in story.claims)
    assert "≠" in markdown and "Brussels" in markdown
    page = story_to_html(story)
    assert page.count('<tr class="single"') + page.count('<tr class="shared"') == len(story.claims)
    assert "<script" not in page and "http" not in page.split("<body>")[1]


def _claim(number: int, quote: str) -> dict[str, object]:
    return {
        "sentence": number,
        "claim": quote,
        "quote": quote,
        "speaker": None,
        "type": "reported_fact",
    }


def _report(ident: str, quotes: list[str]) -> ArticleReport:
    base = small_report()
    article = base.article.model_copy(update={"id": ident, "paragraphs": [" ".join(quotes)]})
    claims = [
        ClaimAudit(number=n, claim=Claim.model_validate(_claim(n, q)), verdict=None)
        for n, q in enumerate(quotes, start=1)
    ]
    return base.model_copy(update={"article": article, "claims": claims})


def _event(event: str, place: str | None = None) -> dict[str, object]:
    return {"who": "Rutte", "event": event, "place": place, "when": "not stated"}


def test_candidate_groups_take_one_claim_per_source_and_do_not_chain() -> None:
    ids = ["A1", "A2", "B1", "C1"]
    sims = np.array(
        [
            [1.0, 0.5, 0.9, 0.3],
            [0.5, 1.0, 0.85, 0.1],
            [0.9, 0.85, 1.0, 0.8],
            [0.3, 0.1, 0.8, 1.0],
        ]
    )
    # A1-B1 is the closest pair; A2 would be a second claim of A; C1 is close to B1 but not
    # to A1, so it does not chain in.
    assert candidate_groups(ids, sims, 0.7) == [["A1", "B1"]]
    assert candidate_groups(ids, sims, 0.25) == [["A1", "B1", "C1"]]
    assert candidate_groups(ids, sims, 0.95) == []


@pytest.mark.parametrize("noise", [0.0, 3e-8, -3e-8])
def test_a_tie_in_similarity_goes_to_the_earliest_claim_whatever_the_rounding(
    noise: float,
) -> None:
    """Two claims' similarity sums are equal up to the BLAS kernel's last bits: the earlier
    source's claim wins on every machine, in either direction of the noise."""
    ids = ["A1", "B1", "C1"]
    sims = np.array([[1.0, 0.8, 0.7], [0.8, 1.0 + noise, 0.7], [0.7, 0.7, 1.0]])
    assert most_central(["B1", "A1"], sims, ids) == "A1"
    assert most_central(["A1", "B1", "C1"], sims, ids) == "A1"
    # A real difference, larger than the tolerance, still decides.
    sims[1, 1] += 10 * TIE
    assert most_central(["A1", "B1"], sims, ids) == "B1"


def test_pairs_within_the_tolerance_are_ranked_in_claim_order() -> None:
    scored = [(0.8 - 1e-8, 0, 2), (0.8, 1, 2), (0.9, 2, 3), (0.8 + 1e-8, 0, 1), (0.5, 0, 3)]
    assert ranked(scored) == [(2, 3), (0, 1), (0, 2), (1, 2), (0, 3)]
    assert ranked(reversed(scored)) == ranked(scored)
    assert reaches(0.7 - 1e-8, 0.7) and not reaches(0.7 - 1e-4, 0.7)


def test_candidate_groups_with_tied_pairs_are_the_same_under_rounding_noise() -> None:
    ids = ["A1", "B1", "C1"]
    base = np.array([[1.0, 0.8, 0.8], [0.8, 1.0, 0.6], [0.8, 0.6, 1.0]])
    # A1 is as close to B1 as to C1, and B1-C1 are too far apart to join all three: the pair
    # with the earlier claims is joined first, whichever way the noise tips the scores.
    for noise in (0.0, 2e-8, -2e-8):
        sims = base.copy()
        sims[0, 2] = sims[2, 0] = 0.8 + noise
        assert candidate_groups(ids, sims, 0.8) == [["A1", "B1"]]


def test_the_model_refines_candidates_and_similarity_guards_its_groups() -> None:
    reports = [
        _report("a", ["Rutte met Trump.", "Membership is off the table."]),
        _report("b", ["Membership is no longer on the agenda.", "Rutte met Trump in Washington."]),
        _report("c", ["Membership remains possible.", "It rained in Brussels."]),
        _report("d", ["It rained in Brussels on Monday.", "It rained in Brussels."]),
    ]
    events = [_event("meeting with Trump")] * 2 + [
        _event("meeting with Trump"),
        _event("weather report", "Brussels"),
    ]
    answer: dict[str, object] = {
        "groups": [
            {"statement": "straddles two candidates", "claims": ["A1", "C2"]},
            {
                "statement": "membership off the table",
                "claims": ["A2", "B1"],
                "contradicting": ["C1"],
            },
            {"statement": "Rutte met Trump", "claims": ["a1", "B2", "Z9"]},
            {"statement": "weak", "claims": ["D1", "A2"]},
        ]
    }
    with pytest.raises(ValidationError, match="unknown claim ids"):
        asyncio.run(
            compare_story(reports, llm=FakeLLM({"story_event": list(events), "story": [answer]}))
        )
    answer["groups"][2]["claims"] = ["a1", "B2"]  # type: ignore[index]
    llm = FakeLLM({"story_event": list(events), "story": [answer]})
    story = asyncio.run(compare_story(reports, llm=llm))
    # The candidate groups (quotes alike: A1-B2, C2-D2) reach the model with the claims.
    prompt = llm.calls[-1][1][1]["content"]
    assert "- A1, B2" in prompt and "- C2, D2" in prompt

    met, rain, membership, alone = story.claims
    # Confirmed by the model; worded as the claim closest to the others, not the model's words.
    assert met.statement == "Rutte met Trump." and met.matched_by == "model"
    assert met.asserted_by == {"A": ["Rutte met Trump."], "B": ["Rutte met Trump in Washington."]}
    # Not confirmed by the model: kept on similarity; D reports another event, so its words
    # are shown apart rather than as a confirmation.
    assert rain.matched_by == "similarity" and rain.similarity == pytest.approx(1.0)
    assert rain.asserted_by == {"C": ["It rained in Brussels."]}
    assert rain.other_event == {"D": ["It rained in Brussels."]}
    assert "different meeting or event" in (rain.note or "") and not rain.single_source
    # A group the model found beyond the candidates, its members similar enough (0.63).
    assert membership.asserted_by == {
        "A": ["Membership is off the table."],
        "B": ["Membership is no longer on the agenda."],
    }
    assert membership.contradicted_by == {"C": ["Membership remains possible."]}
    assert membership.silent == ["D"] and met.silent == ["C", "D"]
    assert alone.single_source and alone.asserted_by == {"D": ["It rained in Brussels on Monday."]}
    reasons = story.compare_stage.dropped_reasons
    assert any("different candidate groups" in r for r in reasons)
    assert any(r.startswith("D1 is not similar") for r in reasons)
    assert [e.letter for e in story.events if e.different] == ["D"]
    assert story.different_events[0].startswith("D reports weather report")
    framing = {f.letter: f for f in story.framing}
    assert framing["C"].omits == ["Rutte met Trump."]
    assert framing["D"].omits == ["Rutte met Trump.", "membership off the table"]
    assert framing["A"].omits == []


def test_two_sources_on_different_events_share_words_but_not_an_occasion() -> None:
    reports = [
        _report("a", ["Rutte met Trump.", "Talks lasted two hours."]),
        _report("b", ["Rutte met Trump.", "Snow closed the airport."]),
    ]
    # "Paris" is not in A's words: not evidence, so dropped.
    events = [_event("meeting with Trump at the White House", "Paris"), _event("storm warning")]
    llm = FakeLLM({"story_event": events, "story": [{"groups": []}]})
    story = asyncio.run(compare_story(reports, llm=llm))
    assert story.events[0].place is None
    assert all(e.different and not e.same_as for e in story.events)
    (met,) = [c for c in story.claims if not c.single_source]
    assert sorted(met.asserted_by) == ["A", "B"] and not met.other_event
    assert "different meetings or events" in (met.note or "")


def test_without_embeddings_only_near_identical_quotes_are_candidates() -> None:
    reports = [
        _report("a", ["Rutte met Trump.", "It rained in Brussels."]),
        _report("b", ["Rutte met Trump in Washington.", "It rained in Brussels on Monday."]),
    ]
    llm = FakeLLM({"story_event": [_event("meeting")] * 2, "story": [{"groups": []}]})
    story = asyncio.run(compare_story(reports, llm=llm, settings=StorySettings(embeddings=False)))
    shared = [c for c in story.claims if not c.single_source]
    assert [sorted(c.asserted_by) for c in shared] == [["A", "B"], ["A", "B"]]
    assert all(c.matched_by == "similarity" for c in shared)


def test_titles_that_differ_across_sources_are_reported_with_their_words() -> None:
    reports = [
        _report("a", ["Former Prime Minister Jane Doe spoke.", "Mayor Li Wei agreed."]),
        _report("b", ["Prime Minister Jane Doe's office replied.", "Mayor Li Wei agreed."]),
        _report("c", ["Senator Tom Ray, a critic, was absent."]),
    ]
    (doe,) = title_details(reports)  # Li Wei is "Mayor" everywhere; Tom Ray in one source only
    assert doe.subject == "Jane Doe"
    assert doe.versions == {"Prime Minister": ["B"], "former Prime Minister": ["A"]}
    assert doe.quotes == {
        "A": ["Former Prime Minister Jane Doe"],
        "B": ["Prime Minister Jane Doe"],
    }


def test_minilm_matches_sentence_transformers() -> None:
    reference = json.loads((FIXTURES / "minilm_reference.json").read_text())
    model = MiniLM(embedding_dir())
    # The reference was computed from the weights cast to float16 and back: cast them alike.
    model.w = {k: v.astype(np.float16).astype(np.float32) if v.dtype.kind == "f" else v
               for k, v in model.w.items()}  # fmt: skip
    ours = model.embed(reference["texts"])
    assert np.abs(ours - np.array(reference["vectors"])).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


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
