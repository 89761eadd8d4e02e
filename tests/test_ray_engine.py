"""The Ray engine on a local Ray instance: same reports, errors and resume as the local engine.

Runs in the default test command (Ray is in the dev extra); about half a minute, most of it
starting Ray.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.batch import BatchRun
from pipeline.core.config import BatchSettings, JudgmentSettings, Settings
from tests.conftest import SEEDS, SEEDS_DIR
from tests.fake_server import FakeServer, synthetic_records

ray = pytest.importorskip("ray")

# What depends on the run (timing, when) rather than on the article and the answers.
VOLATILE = {"created_at", "seconds_total"}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for seed in SEEDS:
        shutil.copy(SEEDS_DIR / seed, folder / seed)
    records: list[Any] = synthetic_records(6)
    lines = [json.dumps(r) for r in records]
    lines.insert(2, "{broken json")
    lines.insert(4, json.dumps({"id": "no-text", "title": "Only a title"}))
    (folder / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    return folder


def _settings(server: FakeServer) -> Settings:
    return Settings(
        model="openai/fake-model",
        api_base=server.base_url,
        retry_attempts=1,
        batch=BatchSettings(concurrency=3, cache=False, ray_actors=2),
        judgments=JudgmentSettings(model_signal="batch"),  # one call per stage, as hosted
    )


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    stages = [{k: v for k, v in s.items() if k != "seconds"} for s in report["stages"]]
    rest = {k: v for k, v in report.items() if k not in VOLATILE | {"stages"}}
    return {**rest, "stages": stages}


def _read(out: Path, name: str) -> list[dict[str, Any]]:
    path = out / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_ray_reports_equal_the_local_engines_and_bad_inputs_are_error_rows(
    tmp_path: Path, server: FakeServer, local_ray: None
) -> None:
    source = _inputs(tmp_path)
    settings = _settings(server)
    local = asyncio.run(BatchRun(settings, str(source), tmp_path / "local").run())
    served = sum(server.requests.values())
    stats = asyncio.run(BatchRun(settings, str(source), tmp_path / "ray", engine="ray").run())
    assert sum(server.requests.values()) == 2 * served  # the same calls again, no more
    assert (stats.done, stats.failed) == (local.done, local.failed) == (len(SEEDS) + 6, 3)

    by_key = {r["key"]: r for r in _read(tmp_path / "local", "reports.jsonl")}
    ray_reports = _read(tmp_path / "ray", "reports.jsonl")
    assert sorted(r["key"] for r in ray_reports) == sorted(by_key)
    for record in ray_reports:
        twin = by_key[record["key"]]
        assert (record["id"], record["input"]) == (twin["id"], twin["input"])
        assert _comparable(record["report"]) == _comparable(twin["report"])

    def errors(run: str) -> list[tuple[str, str]]:
        return sorted((e["input"], e["error_type"]) for e in _read(tmp_path / run, "errors.jsonl"))

    assert errors("ray") == errors("local")
    assert len(errors("ray")) == 3
    summary = json.loads((tmp_path / "ray" / "summary.json").read_text())
    assert summary["engine"] == "ray" and summary["counts"]["succeeded"] == len(SEEDS) + 6


def test_a_ray_rerun_skips_what_is_done(
    tmp_path: Path, server: FakeServer, local_ray: None
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in synthetic_records(4)))
    settings = _settings(server)
    asyncio.run(BatchRun(settings, str(source), tmp_path / "out", engine="ray").run())
    served = sum(server.requests.values())
    stats = asyncio.run(BatchRun(settings, str(source), tmp_path / "out", engine="ray").run())
    assert stats.skipped == 4 and stats.done == 0
    assert sum(server.requests.values()) == served
    assert len(_read(tmp_path / "out", "reports.jsonl")) == 4
