"""The batch runner: inputs, the stage cache, outputs, progress and stories (faults, retries
and resume after a kill: test_batch_faults.py).

Cases run against the scriptable fake server (tests/fake_server.py); one test replays the
recorded seed cassettes through the batch to show it is the same pipeline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.batch import (
    SUMMARY,
    BatchRun,
    count_inputs,
    iter_inputs,
    story_folder,
)
from pipeline.cli.main import EXIT_SOME_FAILED, app
from pipeline.core.config import BatchSettings, Settings
from pipeline.model import prompts
from pipeline.model.llm import LLM
from pipeline.model.ratelimit import RateLimiter
from pipeline.model.server import weights_for
from pipeline.run import PROMPTS
from schemas.report import ArticleReport
from schemas.story import StoryReport
from tests.batch_helpers import (
    SYNTHETIC,
    errors_in,
    input_dir,
    reports_in,
    run_batch,
    settings_for,
    write_jsonl,
)
from tests.conftest import CASSETTES, REPLAY_API_BASE, SEEDS, SEEDS_DIR, replay_settings
from tests.fake_server import FakeServer, Fault, synthetic_records


def test_a_batch_over_seeds_and_synthetic_articles_reports_each_once(
    tmp_path: Path, server: FakeServer
) -> None:
    source = input_dir(tmp_path)
    stats = run_batch(settings_for(server), source, tmp_path / "out")
    reports = reports_in(tmp_path / "out")
    expected = {Path(s).stem for s in SEEDS} | {f"syn-{i}" for i in range(SYNTHETIC)}
    assert sorted(r["id"] for r in reports) == sorted(expected)
    assert stats.done == len(expected) and stats.failed == 0
    # One call per LLM stage per article: the cost shape of the single-article pipeline.
    assert sum(server.requests.values()) == 4 * len(expected)
    for record in reports:
        report = ArticleReport.model_validate(record["report"])
        text = " ".join(report.article.text.split()).casefold()
        for claim in report.claims:
            assert " ".join(claim.claim.quote.split()).casefold() in text
    summary = json.loads((tmp_path / "out" / SUMMARY).read_text())
    assert summary["counts"]["succeeded"] == len(expected)
    assert summary["counts"]["inputs"] == len(expected)
    assert summary["stages"]["support"]["calls"] == len(expected)
    assert summary["tokens"]["total"] == sum(
        ArticleReport.model_validate(r["report"]).totals().prompt_tokens
        + ArticleReport.model_validate(r["report"]).totals().completion_tokens
        for r in reports
    )
    assert set(summary["prompt_hashes"]) == set(PROMPTS)
    assert summary["article_seconds"]["p50"] is not None
    assert summary["articles_per_minute"] > 0


def test_a_rerun_skips_done_articles_and_makes_no_calls(tmp_path: Path, server: FakeServer) -> None:
    source = input_dir(tmp_path, synthetic=3)
    run_batch(settings_for(server), source, tmp_path / "out")
    served = sum(server.requests.values())
    stats = run_batch(settings_for(server), source, tmp_path / "out")
    assert sum(server.requests.values()) == served
    assert stats.skipped == len(SEEDS) + 3 and stats.done == 0
    assert len(reports_in(tmp_path / "out")) == len(SEEDS) + 3


def test_the_stage_cache_serves_a_fresh_output_dir_without_calls(
    tmp_path: Path, server: FakeServer
) -> None:
    source = input_dir(tmp_path, synthetic=2)
    cache = tmp_path / "cache"
    run_batch(settings_for(server), source, tmp_path / "a", cache_dir=cache)
    served = sum(server.requests.values())
    stats = run_batch(settings_for(server), source, tmp_path / "b", cache_dir=cache)
    assert sum(server.requests.values()) == served
    assert stats.done == len(SEEDS) + 2
    first = {r["id"]: r["report"] for r in reports_in(tmp_path / "a")}
    for record in reports_in(tmp_path / "b"):
        report = record["report"]
        # Every stage that calls the model is served from the cache (clean and, on a hosted
        # provider, the summary check make no call).
        called = [s for s in report["stages"] if s["stage"] not in ("clean", "summary_check")]
        assert called and all(s["cached"] for s in called)
        assert report["claims"] == first[record["id"]]["claims"]


@contextmanager
def changed_prompt(stage: str) -> Iterator[None]:
    """Edit one stage's template (as a developer would), restoring it afterwards."""
    original = prompts._source

    def edited(name: str) -> str:
        text = original(name)
        return text + "\n(Be brief.)\n" if name == f"{stage}.j2" else text

    prompts._source = edited  # type: ignore[assignment]
    prompts._env.cache_clear()
    try:
        yield
    finally:
        prompts._source = original
        prompts._env.cache_clear()


@pytest.mark.parametrize(
    ("stage", "rerun"),
    # A stage's answer reaches later stages only through their own messages (sentence
    # numbers, flagged sentences): same answers, same later requests, served from the cache.
    [("support", {"SentenceJudgments"}), ("claims", {"ClaimPicks"})],
)
def test_changing_one_prompt_reruns_that_stage_and_those_using_it(
    tmp_path: Path, server: FakeServer, stage: str, rerun: set[str]
) -> None:
    source = input_dir(tmp_path, synthetic=2)
    cache = tmp_path / "cache"
    settings = settings_for(server, processes=1)  # the prompt is edited in this process only
    run_batch(settings, source, tmp_path / "a", cache_dir=cache)
    before = server.requests.copy()
    with changed_prompt(stage):
        run_batch(settings, source, tmp_path / "b", cache_dir=cache)
    new = server.requests - before
    assert set(new) == rerun
    assert all(count == len(SEEDS) + 2 for count in new.values())


def test_inputs_from_a_directory_a_glob_and_a_jsonl_file(tmp_path: Path) -> None:
    folder = input_dir(tmp_path, synthetic=4)
    (folder / "notes.md").write_text("not an article format", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    items = list(iter_inputs(str(folder)))
    assert count_inputs(str(folder)) == len(items) == len(SEEDS) + 4 + 1
    (bad,) = [i for i in items if i.error is not None]
    assert bad.name.endswith("empty.txt") and "empty input" in str(bad.error)
    assert len(list(iter_inputs(str(folder / "*.txt")))) == len(SEEDS) + 1
    assert [i.doc.id for i in iter_inputs(str(folder / "synthetic.jsonl")) if i.doc] == [
        f"syn-{i}" for i in range(4)
    ]


def test_parquet_output_holds_one_row_per_report(tmp_path: Path, server: FakeServer) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    source = write_jsonl(tmp_path / "in.jsonl", synthetic_records(3))
    run_batch(settings_for(server), source, tmp_path / "out", fmt="parquet")
    table = pq.read_table(tmp_path / "out" / "reports.parquet")
    assert sorted(table.column("id").to_pylist()) == ["syn-0", "syn-1", "syn-2"]
    report = ArticleReport.model_validate_json(table.column("report_json")[0].as_py())
    assert table.column("claims")[0].as_py() == len(report.claims)


def test_the_batch_replays_the_recorded_seeds_like_single_article_runs(
    tmp_path: Path, seed_reports: dict[str, ArticleReport], recording: bool
) -> None:
    """Same stages, same requests: the seed cassettes replay a batch over the seeds."""
    if recording:
        pytest.skip("replay only")
    from tests.conftest import make_vcr

    interactions: list[Any] = []
    for seed in SEEDS:
        data = yaml.safe_load((CASSETTES / f"{Path(seed).stem}.yaml").read_text())
        interactions.extend(data["interactions"])
    merged = tmp_path / "all-seeds.yaml"
    merged.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))
    settings = replay_settings().model_copy(update={"batch": BatchSettings(concurrency=2)})
    model = f"openai/{weights_for(settings.model).alias}"

    @contextmanager
    def replay_llm(s: Settings, limiter: RateLimiter) -> Iterator[LLM]:
        yield LLM(s, model=model, api_base=REPLAY_API_BASE, limiter=limiter)

    recorder = make_vcr(False)
    with recorder.use_cassette(str(merged)):
        stats = asyncio.run(
            BatchRun(settings, str(SEEDS_DIR), tmp_path / "out", llm_factory=replay_llm).run()
        )
    assert stats.done == len(SEEDS), errors_in(tmp_path / "out")
    for record in reports_in(tmp_path / "out"):
        batch = ArticleReport.model_validate(record["report"])
        single = seed_reports[f"{record['id']}.txt"]
        # The same answers, so the same report (where the file was read from aside).
        same = {"summary", "claims", "bias", "prompt_hashes"}
        assert batch.model_dump(include=same) == single.model_dump(include=same)
        assert batch.article.model_dump(exclude={"source"}) == single.article.model_dump(
            exclude={"source"}
        )


def test_progress_is_plain_lines_when_not_a_terminal() -> None:
    import io

    from pipeline.batch import BatchStats
    from pipeline.cli.progress import BatchProgress

    stream = io.StringIO()
    stats = BatchStats(total=10, done=3, failed=1, skipped=2, in_flight=4, prompt_tokens=50)
    with BatchProgress(stream, every_s=0) as progress:
        progress(stats)
    progress.final(stats)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0] == (
        "newsaudit: batch: 6/10 finished: 3 done, 1 failed, 2 skipped (already done), "
        "4 in flight, 50 tokens"
    )


def test_stories_are_compared_once_each_and_a_failed_one_costs_no_other(
    tmp_path: Path, server: FakeServer
) -> None:
    records = synthetic_records(5)
    for record, story in zip(records, ["budget/2", "budget/2", "s1", "s1"], strict=False):
        record["story_id"] = story
    source = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    run_batch(settings_for(server), source, out)
    assert not (out / "stories").exists()  # no --story: no comparison
    # With --story on the finished batch: the articles are skipped, the stories compared.
    # The first story's first call gets a 400 (not retried), so that story fails alone.
    server.script(Fault(status=400))
    stats = run_batch(settings_for(server, story_field="story_id"), source, out)
    assert stats.done == 0 and (stats.stories, stats.stories_failed) == (1, 1)
    failed, compared = story_folder(out, "budget/2"), story_folder(out, "s1")
    assert failed.name.startswith("budget_2-") and compared.name == "s1"
    error = json.loads((failed / "error.json").read_text())
    assert error["articles"] == ["syn-0", "syn-1"] and "400" in error["message"]
    story = StoryReport.model_validate_json((compared / "story.json").read_text())
    assert [s.id for s in story.sources] == ["syn-2", "syn-3"]
    assert (compared / "story.html").read_text().count('class="cell ') == 2 * len(story.claims)
    # A rerun redoes only the failed story: 2 event calls and 1 comparison.
    before = dict(server.requests)
    stats = run_batch(settings_for(server, story_field="story_id"), source, out)
    assert (stats.stories, stats.stories_failed) == (1, 0)
    assert not (failed / "error.json").exists() and (failed / "story.json").exists()
    spent = {k: v - before.get(k, 0) for k, v in server.requests.items() if v != before.get(k, 0)}
    assert spent == {"StoryEvent": 2, "StoryComparison": 1}


def test_the_story_option_reaches_the_batch_and_a_failed_story_exits_7(
    tmp_path: Path, server: FakeServer
) -> None:
    records = synthetic_records(2)
    for record in records:
        record["story_id"] = "s1"
    source = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    args = ["batch", str(source), "--out", str(out), "-q"]
    args += ["--model", "openai/fake-model", "--api-base", server.base_url]
    assert CliRunner().invoke(app, args).exit_code == 0  # the articles
    server.script(Fault(status=400))  # the story's first call
    result = CliRunner().invoke(app, [*args, "--story", "story_id"])
    assert result.exit_code == EXIT_SOME_FAILED
    assert "1 stories failed" in result.output
    result = CliRunner().invoke(app, [*args, "--story", "story_id"])
    assert result.exit_code == 0, result.output
    assert "1 stories compared" in result.output
    assert (story_folder(out, "s1") / "story.md").exists()
