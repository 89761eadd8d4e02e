"""The batch under faults: malformed records, rate limits, a provider that fails or cannot be
reached, a run killed mid-way and resumed, a torn output line. One bad article or one failed
call never costs the others, and every article is reported exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.batch import REPORTS, SUMMARY, JsonLines
from pipeline.cli.main import EXIT_SOME_FAILED, app
from pipeline.core.config import Settings
from tests.batch_helpers import errors_in, reports_in, run_batch, settings_for, write_jsonl
from tests.conftest import ROOT
from tests.fake_server import ALWAYS_FAIL_MARKER, FakeServer, synthetic_records


def test_malformed_records_land_in_errors_and_the_rest_succeed(
    tmp_path: Path, server: FakeServer
) -> None:
    good = synthetic_records(3)
    source = tmp_path / "mixed.jsonl"
    lines = [
        json.dumps(good[0]),
        "{not json",
        json.dumps({"id": "no-body", "title": "A title and nothing else"}),
        json.dumps(good[1]),
        json.dumps(["a", "list"]),
        json.dumps({"id": "blank", "text": "   "}),
        json.dumps(good[2]),
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "batch",
            str(source),
            "--out",
            str(tmp_path / "out"),
            "--model",
            "openai/fake-model",
            "--api-base",
            server.base_url,
            "-q",
        ],
    )
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    assert sorted(r["id"] for r in reports_in(tmp_path / "out")) == ["syn-0", "syn-1", "syn-2"]
    errors = errors_in(tmp_path / "out")
    assert [e["input"] for e in errors] == [f"{source}:{n}" for n in (2, 3, 5, 6)]
    assert {e["error_type"] for e in errors} == {"input_error"}
    assert "invalid JSON" in errors[0]["message"]
    assert "neither 'text' nor 'html'" in errors[1]["message"]
    assert "empty" in errors[3]["message"]


def test_a_429_then_success_is_retried_and_counted(tmp_path: Path, server: FakeServer) -> None:
    server.fail_next(429, times=2, retry_after=0)
    source = write_jsonl(tmp_path / "in.jsonl", synthetic_records(2))
    stats = run_batch(settings_for(server, concurrency=1), source, tmp_path / "out")
    assert stats.done == 2 and stats.failed == 0
    summary = json.loads((tmp_path / "out" / SUMMARY).read_text())
    assert sum(s["transport_retries"] for s in summary["stages"].values()) == 2
    assert server.requests["SummaryDraft:429"] == 2


def test_a_provider_that_always_fails_gives_error_records_not_a_crash(
    tmp_path: Path, server: FakeServer
) -> None:
    records = synthetic_records(3)
    records[1]["text"] += f" {ALWAYS_FAIL_MARKER}"
    source = write_jsonl(tmp_path / "in.jsonl", records)
    stats = run_batch(settings_for(server), source, tmp_path / "out")
    assert stats.done == 2 and stats.failed == 1
    (error,) = errors_in(tmp_path / "out")
    assert error["id"] == "syn-1" and error["error_type"] == "provider_error"
    assert "after 3 attempts" in error["message"]
    assert server.requests["SummaryDraft:500"] == 3
    # The failed article is retried by the next run, and its error record is replaced.
    stats = run_batch(settings_for(server), source, tmp_path / "out")
    assert stats.skipped == 2 and stats.failed == 1
    assert len(errors_in(tmp_path / "out")) == 1


def test_an_unreachable_provider_fails_every_article_with_a_record(tmp_path: Path) -> None:
    settings = Settings(
        model="openai/fake-model",
        api_base="http://127.0.0.1:9/v1",
        retry_attempts=2,
        retry_initial_s=0.01,
        retry_max_s=0.02,
    )
    source = write_jsonl(tmp_path / "in.jsonl", synthetic_records(3))
    stats = run_batch(settings, source, tmp_path / "out")
    assert stats.failed == 3 and stats.done == 0
    assert {e["error_type"] for e in errors_in(tmp_path / "out")} == {"provider_error"}


def _batch_command(source: Path, out: Path, server: FakeServer, processes: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipeline.cli",
        "batch",
        str(source),
        "--out",
        str(out),
        "--model",
        "openai/fake-model",
        "--api-base",
        server.base_url,
        "-j",
        "3",
        "--processes",
        str(processes),
    ]


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_run_resumes_and_reports_every_article_exactly_once(
    tmp_path: Path, signum: int, processes: int
) -> None:
    total = 24
    source = write_jsonl(tmp_path / "in.jsonl", synthetic_records(total))
    out = tmp_path / "out"
    fake = FakeServer(latency_s=0.15)
    with fake.running():
        env = {**os.environ, "NEWSAUDIT_CONFIG": os.devnull}
        proc = subprocess.Popen(
            _batch_command(source, out, fake, processes),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            path = out / REPORTS
            if path.exists() and path.read_bytes().count(b"\n") >= 4:
                break
            time.sleep(0.05)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        first = reports_in(out)
        assert 4 <= len(first) < total, "the kill should land mid-run"
        if signum == signal.SIGTERM:
            assert proc.returncode == 128 + signal.SIGTERM, stderr.decode()
            assert b"interrupted" in stderr
            assert json.loads((out / SUMMARY).read_text())["interrupted"] is True
        time.sleep(0.5)  # requests the killed run had sent are counted before the rerun starts
        served = sum(fake.requests.values())
        rerun = subprocess.run(
            _batch_command(source, out, fake, processes),
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert rerun.returncode == 0, rerun.stderr.decode()
    reports = reports_in(out)
    assert sorted(r["id"] for r in reports) == sorted(f"syn-{i}" for i in range(total))
    # The rerun redid only what was not finished (plus at most the in-flight articles' calls):
    # at most one article's calls (stages and sentence questions) per unfinished article.
    per_article = max(sum(s["calls"] for s in r["report"]["stages"]) for r in reports)
    assert sum(fake.requests.values()) - served <= per_article * (total - len(first))


def test_a_torn_last_line_is_cut_when_the_file_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / REPORTS
    path.write_text('{"key": "a", "id": "1"}\n{"key": "b", "id', encoding="utf-8")
    lines = JsonLines(path)
    lines.append({"key": "c", "id": "3"})
    lines.close()
    assert [r["key"] for r in JsonLines(path).records()] == ["a", "c"]
    assert all(json.loads(line) for line in path.read_text().splitlines())
