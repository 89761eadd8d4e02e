"""Cassette tests: every stage on all five seeds through litellm's HTTP path, replayed offline.

The outputs are what the embedded model and the shipped signals really gave when the
cassettes were recorded; these tests check what an editor needs from them, measured against
the gold file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from pipeline.evaluation.gold import overlaps, score
from pipeline.report import to_markdown
from pipeline.run import LLM_STAGES
from pipeline.signals.rewording import rewording_problem
from pipeline.signals.subjectivity import embed_and_classify
from pipeline.text.quotes import normalize
from schemas.bias import BiasKind, Slant
from schemas.report import ArticleReport
from schemas.sentence import SentenceLabel
from schemas.verification import Support
from tests.conftest import CASSETTES, SEEDS, SEEDS_DIR

CONTROL = "002_91cb02791afa4ef3.txt"
MISMATCH = "004_b2d0903adc2ffcae.txt"
OPINIONATED = "003_e3a3cb5d0a2c9bc6.txt"
# Gold recall of the recording (docs/measurements.md): found / expected per category; the
# issue's bar is 0.8 for attributed and unsupported and 8/11 for bias. A regression fails.
RECORDED_RECALL = {"attributed": 7 / 7, "unsupported": 10 / 12, "bias": 8 / 11}
# Completion tokens per article: the target (the recording's largest is seed 000, 100
# sentences: 788; the others 489-738).
MAX_COMPLETION_TOKENS = 800
# Slant verdicts an editor would sign: the sensational, partisan and opinionated seeds above
# the misleading-headline one, which is at least as slanted as the neutral control.
MOST_SLANTED = ("000_3e70e7dff98cf2b9.txt", "001_13955f156448d006.txt", OPINIONATED)


def _texts(report: ArticleReport) -> list[str]:
    out = [s.text for s in report.sentences]
    out += [c.claim.quote for c in report.claims]
    out += [e for c in report.claims if c.verdict for e in c.verdict.evidence]
    out += [f.quote for f in report.bias.findings]
    out += [t for b in report.summary.bullets if b.check for t in b.check.evidence_text]
    return out


def test_every_seed_has_every_stage(seed_reports: dict[str, ArticleReport]) -> None:
    assert sorted(seed_reports) == SEEDS
    for name, report in seed_reports.items():
        assert [s.stage for s in report.stages] == ["clean", *LLM_STAGES], name
        assert report.sentences and report.claims and report.summary.bullets, name
        assert all(c.claim.quote == report.sentence(c.claim.sentence).text for c in report.claims)


def test_the_run_section_names_the_shipped_calibration(
    seed_reports: dict[str, ArticleReport],
) -> None:
    # No profile exists for the embedded model here (conftest points the profiles folder at
    # an empty one): its answers are read through the weights fitted on them, and no
    # calibration warning is given.
    for name, report in seed_reports.items():
        assert report.calibration == "shipped (embedded/qwen2.5-coder-1.5b)", name
        assert "Calibration of the sentence labels: shipped" in to_markdown(report), name
        support = next(s for s in report.stages if s.stage == "support")
        assert not any("calibration" in w for w in support.warnings), name


def test_every_quote_is_a_slice_of_the_article_and_the_raw_file(
    seed_reports: dict[str, ArticleReport],
) -> None:
    for seed, report in seed_reports.items():
        body = report.article.body
        assert all(body[s.start : s.end] == s.text for s in report.sentences), seed
        article = normalize(report.article.text)[0]
        raw = normalize((SEEDS_DIR / seed).read_text(encoding="utf-8"))[0]
        for text in _texts(report):
            needle = normalize(text)[0].strip(" .,;:")
            assert needle in article and needle in raw, (seed, text)


def test_gold_recall_holds_the_recorded_figures(
    seed_reports: dict[str, ArticleReport], gold: dict[str, Any]
) -> None:
    tallies = score(gold, seed_reports)
    assert tallies["boilerplate"].found == tallies["boilerplate"].expected
    for category, floor in RECORDED_RECALL.items():
        tally = tallies[category]
        assert tally.recall is not None and tally.recall >= floor, (category, tally.missed)


def test_the_control_article_is_not_over_flagged(
    seed_reports: dict[str, ArticleReport], gold: dict[str, Any]
) -> None:
    report = seed_reports[CONTROL]
    assert len(report.bias.findings) <= 1
    assert report.bias.overall is Slant.neutral
    assert len(report.unsupported) <= 3  # the strong list; the mild ones are folded
    own_voice = {SentenceLabel.fact_unsupported, SentenceLabel.opinion, SentenceLabel.speculation}
    for entry in gold["articles"][CONTROL]["attributed"]:
        labels = {s.label for s in report.sentences if overlaps(entry["quote"], s.text)}
        assert SentenceLabel.attributed in labels and not labels & own_voice, entry["quote"]


def test_verdicts_order_the_seeds_by_their_slant(
    seed_reports: dict[str, ArticleReport],
) -> None:
    score = {seed: report.bias.score for seed, report in seed_reports.items()}
    assert min(score[s] for s in MOST_SLANTED) > score[MISMATCH] >= score[CONTROL]
    for seed, report in seed_reports.items():
        assert report.bias.assessment.startswith(f"Slant score {report.bias.score:.2f}"), seed
        assert report.bias.evidence, seed


def test_every_finding_span_is_in_its_sentence_and_every_rewording_passes_the_checks(
    seed_reports: dict[str, ArticleReport],
) -> None:
    for seed, report in seed_reports.items():
        body = report.article.body
        for finding in report.bias.findings:
            if finding.sentence is None:
                continue
            sentence = report.sentence(finding.sentence)
            assert finding.start is not None and finding.end is not None, seed
            assert body[finding.start : finding.end] == finding.quote, seed
            assert sentence.start <= finding.start < finding.end <= sentence.end, seed
        reworded = {
            f.sentence: f.neutral_rewording
            for f in report.bias.findings
            if f.sentence is not None and f.neutral_rewording
        }
        originals = [report.sentence(n).text for n in reworded]
        p = embed_and_classify(originals + list(reworded.values())).probabilities
        for i, (n, text) in enumerate(reworded.items()):
            problem = rewording_problem(
                report.sentence(n).text,
                text,
                p_original=float(p[i]),
                p_rewording=float(p[len(reworded) + i]),
            )
            assert problem is None, (seed, n, problem)


def test_seed_004_headline_body_mismatch_is_reported(
    seed_reports: dict[str, ArticleReport],
) -> None:
    report = seed_reports[MISMATCH]
    headline = normalize(report.article.title or "")[0]
    mismatches = [f for f in report.bias.findings if f.kind is BiasKind.headline_body_mismatch]
    assert mismatches
    assert all(normalize(f.quote)[0] in headline for f in mismatches)


def test_every_summary_point_cites_sentences_and_passed_the_check(
    seed_reports: dict[str, ArticleReport],
) -> None:
    for seed, report in seed_reports.items():
        summary = report.summary
        assert summary.faithfulness is not None, seed
        assert summary.faithfulness.checked == len(summary.bullets) + len(summary.dropped) or (
            summary.faithfulness.rewritten
        )
        for bullet in summary.bullets:
            assert bullet.sentences and bullet.check is not None, seed
            assert bullet.check.verdict is Support.supported, (seed, bullet.text)


def test_the_opinion_piece_summary_says_whose_views_they_are(
    seed_reports: dict[str, ArticleReport],
) -> None:
    from pipeline.stages.summarize import states_a_view_as_fact

    report = seed_reports[OPINIONATED]
    labels = {s.id: s.label for s in report.sentences}
    assert not any(states_a_view_as_fact(b, labels) for b in report.summary.bullets)


def test_cost_shape_and_the_article_sent_once_per_call(
    seed_reports: dict[str, ArticleReport],
) -> None:
    for seed, report in seed_reports.items():
        calls = {s.stage: s.calls - s.reasks for s in report.stages}
        assert calls["summarize"] == calls["claims"] == 1, seed
        # The bias call, and one question per headline clause checked against the body.
        assert calls["bias"] == 1 + len(report.bias.headline_claims), seed
        own_voice = [s for s in report.sentences if s.signals and s.signals.model is not None]
        assert calls["support"] == len(own_voice), seed  # one one-token question each
        total = report.totals()
        assert total.completion_tokens <= MAX_COMPLETION_TOKENS, (seed, total.completion_tokens)
        cassette = yaml.safe_load((CASSETTES / f"{Path(seed).stem}.yaml").read_text())
        assert len(cassette["interactions"]) == total.calls
        system = None
        for interaction in cassette["interactions"]:
            messages = json.loads(interaction["request"]["body"])["messages"]
            system = system or messages[0]["content"]
            assert messages[0]["content"] == system  # one cached prefix
            user = next(m["content"] for m in messages if m["role"] == "user")
            assert user.count("<article>") == 1
