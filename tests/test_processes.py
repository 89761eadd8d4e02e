"""The local engine over several worker processes: the same outputs as one process, one
rpm budget for all of them, and a worker that dies costs only the articles it had in hand.

(The kill-and-resume test in test_batch_faults.py runs with one and with two processes.)
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pipeline.batch import BatchRun
from pipeline.core.config import BatchSettings, JudgmentSettings, Settings
from pipeline.model.ratelimit import RateLimiter
from pipeline.run import open_llm
from schemas.report import StageMetrics
from tests.fake_server import FakeServer, synthetic_records

CRASH_MARKER = "THIS-ARTICLE-KILLS-ITS-WORKER"
VOLATILE = {"created_at", "seconds_total"}


def _settings(server: FakeServer, **batch: Any) -> Settings:
    return Settings(
        model="openai/fake-model",
        api_base=server.base_url,
        retry_attempts=1,
        batch=BatchSettings(**{"concurrency": 4, "processes": 2, **batch}),
        judgments=JudgmentSettings(model_signal="batch"),  # one call per stage, as hosted
    )


def _write(path: Path, records: list[dict[str, Any]], extra_lines: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(r) for r in records] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read(out: Path, name: str) -> list[dict[str, Any]]:
    path = out / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    stages = [{k: v for k, v in s.items() if k != "seconds"} for s in report["stages"]]
    return {**{k: v for k, v in report.items() if k not in VOLATILE | {"stages"}}, "stages": stages}


def test_two_processes_write_what_one_process_writes_each_article_once(
    tmp_path: Path, server: FakeServer
) -> None:
    records = synthetic_records(9)
    source = _write(tmp_path / "in.jsonl", [*records, records[3]], ("{broken",))  # a duplicate
    one = asyncio.run(BatchRun(_settings(server, processes=1), str(source), tmp_path / "a").run())
    served = sum(server.requests.values())
    two = asyncio.run(BatchRun(_settings(server), str(source), tmp_path / "b").run())
    assert sum(server.requests.values()) == 2 * served  # the same calls again, no more
    assert (two.done, two.skipped, two.failed) == (one.done, one.skipped, one.failed) == (9, 1, 1)
    by_key = {r["key"]: r for r in _read(tmp_path / "a", "reports.jsonl")}
    reports = _read(tmp_path / "b", "reports.jsonl")
    assert sorted(r["key"] for r in reports) == sorted(by_key)  # each exactly once
    for record in reports:
        assert _comparable(record["report"]) == _comparable(by_key[record["key"]]["report"])
    assert [e["input"] for e in _read(tmp_path / "b", "errors.jsonl")] == [f"{source}:11"]
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["counts"]["succeeded"] == 9
    assert summary["cache"] == {"hits": 0, "misses": 9 * 4}  # both workers' caches counted


def test_a_rerun_with_processes_skips_what_is_done(tmp_path: Path, server: FakeServer) -> None:
    source = _write(tmp_path / "in.jsonl", synthetic_records(5))
    asyncio.run(BatchRun(_settings(server, processes=1), str(source), tmp_path / "out").run())
    served = sum(server.requests.values())
    stats = asyncio.run(BatchRun(_settings(server), str(source), tmp_path / "out").run())
    assert (stats.skipped, stats.done) == (5, 0)
    assert sum(server.requests.values()) == served


def test_worker_processes_share_one_requests_per_minute_budget(
    tmp_path: Path, server: FakeServer
) -> None:
    """10 requests a second with a burst of 10, for the run: two processes that each held the
    whole budget would send 20 at once (caught below: at most 16). The cap holds when each
    request leaves, so arrivals may bunch by the spread of send delays (the first
    connections open slower): ``slack``."""
    rate, burst, slack = 10.0, 10, 0.5
    source = _write(tmp_path / "in.jsonl", synthetic_records(8))
    settings = _settings(server, concurrency=8, requests_per_minute=rate * 60, cache=False)
    stats = asyncio.run(BatchRun(settings, str(source), tmp_path / "out").run())
    assert stats.done == 8
    arrivals = sorted(server.arrivals)
    assert len(arrivals) == 32
    for first in range(len(arrivals)):
        for last in range(first + burst, len(arrivals)):
            # Requests in [t_first, t_last]: at most the burst plus what the rate adds.
            allowed = burst + rate * (arrivals[last] - arrivals[first] + slack) + 1
            assert last - first + 1 <= allowed, (first, last)


class _CrashOnMarker:
    """Kills the worker process it runs in when asked about a marked article."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def structured(
        self, stage: str, response_model: Any, messages: list[dict[str, str]], context: Any = None
    ) -> tuple[Any, StageMetrics]:
        if CRASH_MARKER in messages[-1]["content"]:
            os._exit(3)
        return await self.inner.structured(stage, response_model, messages, context)


@contextmanager
def crashing_llm(settings: Settings, limiter: RateLimiter) -> Iterator[_CrashOnMarker]:
    """open_llm, except that a marked article kills its worker (module level: picklable)."""
    with open_llm(settings, limiter) as llm:
        yield _CrashOnMarker(llm)


def test_a_worker_that_dies_fails_only_the_articles_it_had_in_hand(
    tmp_path: Path, server: FakeServer
) -> None:
    records = synthetic_records(8)
    records[2]["text"] += f" {CRASH_MARKER}"
    source = _write(tmp_path / "in.jsonl", records)
    settings = _settings(server, concurrency=2, cache=False)  # one article per worker at a time
    run = BatchRun(settings, str(source), tmp_path / "out", llm_factory=crashing_llm)
    stats = asyncio.run(run.run())
    (error,) = _read(tmp_path / "out", "errors.jsonl")
    assert error["id"] == "syn-2" and error["error_type"] == "internal_error"
    assert "worker process exited (code 3)" in error["message"]
    assert (stats.done, stats.failed) == (7, 1)  # the other worker took the rest
    assert sorted(r["id"] for r in _read(tmp_path / "out", "reports.jsonl")) == sorted(
        f"syn-{i}" for i in range(8) if i != 2
    )


def test_how_many_processes_a_run_gets(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.batch import processes
    from pipeline.batch.step import Job

    def count(model: str = "openai/m", **batch: Any) -> int:
        settings = Settings(model=model, batch=BatchSettings(**batch))
        return processes.process_count(Job(settings, {}))

    monkeypatch.setattr(processes, "cores", lambda: 4)
    assert count(concurrency=4) == 1  # at least 4 in flight per process
    assert count(concurrency=5) == 2
    assert count(concurrency=1000) == 4  # the cores
    assert count(concurrency=3, processes=8) == 3  # never more than articles in flight
    assert count(concurrency=100, processes=8) == 8  # asked for
    assert count("embedded/qwen2.5-coder-1.5b", concurrency=100, processes=8) == 1


def test_worker_processes_share_the_cores_between_their_blas_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers on two cores get one BLAS thread each (four threads on two cores cost
    six times the CPU in the benchmark); a value the user set is kept."""
    from pipeline.batch import processes

    monkeypatch.setattr(processes, "cores", lambda: 4)
    for name in processes.BLAS_THREADS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    processes.share_the_cores(2)
    assert os.environ["OPENBLAS_NUM_THREADS"] == os.environ["OMP_NUM_THREADS"] == "2"
    assert os.environ["MKL_NUM_THREADS"] == "3"
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name)
    processes.share_the_cores(8)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
