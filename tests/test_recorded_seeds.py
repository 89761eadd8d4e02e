"""Cassette tests: every stage on all five seeds through litellm's HTTP path, replayed offline.

The outputs are what the embedded model really answered when the cassettes were recorded;
these tests check what an editor needs from them, measured against the gold file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.evaluate import overlaps, score
from pipeline.quotes import normalize
from pipeline.run import LLM_STAGES
from schemas.bias import BiasKind
from schemas.evidence import same_text
from schemas.report import ArticleReport
from schemas.summary import MAX_PARAGRAPH_WORDS
from tests.conftest import CASSETTES, SEEDS, SEEDS_DIR

CONTROL = "002_91cb02791afa4ef3.txt"
MISMATCH = "004_b2d0903adc2ffcae.txt"


def _all_quotes(report: ArticleReport) -> list[str]:
    quotes = [c.claim.quote for c in report.claims]
    quotes += [e for c in report.claims if c.verdict for e in c.verdict.evidence]
    quotes += [f.quote for f in report.bias.findings]
    return quotes


def test_every_seed_has_every_stage(seed_reports: dict[str, ArticleReport]) -> None:
    assert sorted(seed_reports) == SEEDS
    for name, report in seed_reports.items():
        assert [s.stage for s in report.stages] == ["clean", *LLM_STAGES], name
        assert report.summary.paragraph and len(report.summary.bullets) >= 2, name
        assert report.claims, name
        assessed = [c for c in report.claims if c.verdict is not None]
        assert len(assessed) >= 0.8 * len(report.claims), name


@pytest.mark.parametrize("seed", SEEDS)
def test_every_quote_occurs_in_the_article_and_the_raw_file(
    seed: str, seed_reports: dict[str, ArticleReport]
) -> None:
    report = seed_reports[seed]
    article = normalize(report.article.text)[0]
    raw = normalize((SEEDS_DIR / seed).read_text(encoding="utf-8"))[0]
    quotes = _all_quotes(report)
    assert quotes
    for quote in quotes:
        needle = normalize(quote)[0].strip(" .,;:")
        assert needle in article and needle in raw, quote


def test_cost_shape_one_call_per_stage_and_the_article_sent_once(
    seed_reports: dict[str, ArticleReport],
) -> None:
    for seed, report in seed_reports.items():
        llm_stages = [s for s in report.stages if s.stage in LLM_STAGES]
        assert [s.calls - s.reasks for s in llm_stages] == [1, 1, 1, 1], seed
        for s in llm_stages:
            assert s.prompt_tokens > 0 and s.completion_tokens > 0, (seed, s.stage)
            assert s.prompt_hash == report.prompt_hashes[s.stage]
        total = report.totals()
        assert total.prompt_tokens == sum(s.prompt_tokens for s in report.stages)
        cassette = yaml.safe_load((CASSETTES / f"{Path(seed).stem}.yaml").read_text())
        first_paragraph = report.article.paragraphs[0]
        for interaction in cassette["interactions"]:
            messages = json.loads(interaction["request"]["body"])["messages"]
            user = next(m["content"] for m in messages if m["role"] == "user")
            assert user.count("<article>") == 1
            assert user.count(first_paragraph) == 1
        assert len(cassette["interactions"]) == total.calls


def test_summary_titles_are_neutral_or_flagged(seed_reports: dict[str, ArticleReport]) -> None:
    """The small model sometimes echoes a clickbait headline; the report must then say so."""
    for seed, report in seed_reports.items():
        title = report.summary.neutral_title
        warnings = next(s.warnings for s in report.stages if s.stage == "summarize")
        flagged = any(w.startswith("neutral_title:") for w in warnings)
        exclaims = title.rstrip().endswith(("!", "?"))
        copies = same_text(title, report.article.title or "")
        assert flagged == (exclaims or copies), (seed, title, warnings)


def test_summaries_are_shorter_than_the_article(seed_reports: dict[str, ArticleReport]) -> None:
    for seed, report in seed_reports.items():
        words = len(report.summary.paragraph.split())
        warnings = next(s.warnings for s in report.stages if s.stage == "summarize")
        assert words < len(report.article.body.split()), seed
        assert (words > MAX_PARAGRAPH_WORDS) == any(w.startswith("paragraph:") for w in warnings)


def test_seed_004_headline_body_mismatch_is_reported(
    seed_reports: dict[str, ArticleReport],
) -> None:
    report = seed_reports[MISMATCH]
    headline = normalize(report.article.title or "")[0]
    mismatches = [f for f in report.bias.findings if f.kind is BiasKind.headline_body_mismatch]
    assert mismatches
    assert all(normalize(f.quote)[0] in headline for f in mismatches)


def test_control_article_002_gets_at_most_a_few_bias_findings(
    seed_reports: dict[str, ArticleReport],
) -> None:
    control = seed_reports[CONTROL].bias.findings
    assert len(control) <= 3
    others = [len(r.bias.findings) for name, r in seed_reports.items() if name != CONTROL]
    assert len(control) <= max(others)


def test_gold_boilerplate_recall_is_complete(
    seed_reports: dict[str, ArticleReport], gold: dict[str, Any]
) -> None:
    tally = score(gold, seed_reports)["boilerplate"]
    assert tally.found == tally.expected, tally.missed


def test_gold_matching_rule() -> None:
    assert overlaps("Reactions to Rutte’s announcement have been mixed.", "reactions to rutte's")
    assert not overlaps("Reactions to Rutte’s announcement have been mixed.", "Rutte met Trump")
