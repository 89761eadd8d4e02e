"""A key set in the environment never reaches logs, reports, errors, caches or the console,
even when the provider echoes it back in an error message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from tests.fake_server import FakeServer, Fault, synthetic_records

FAKE_KEY = "sk-test-Zq8LmN3vR7tY2wX9pK4sD6fG1hJ5"


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_a_key_never_leaks_into_any_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    records = synthetic_records(4)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "out"
    fake = FakeServer()
    # The first article's calls meet a provider that puts the Authorization header in its
    # error messages (500s until retries run out, then a 401); the others succeed.
    fake.script(Fault(status=500, echo_auth=True), times=5)
    with fake.running():
        runner = CliRunner()
        batch = runner.invoke(
            app,
            [
                "batch",
                str(source),
                "--out",
                str(out),
                "-j",
                "1",
                "--model",
                "openai/gpt-4o-mini",
                "--api-base",
                fake.base_url,
            ],
        )
        fake.script(Fault(status=401, echo_auth=True))
        single = tmp_path / "one.json"
        single.write_text(json.dumps(records[0]), encoding="utf-8")
        check = runner.invoke(
            app,
            [
                "check",
                str(single),
                "--model",
                "openai/gpt-4o-mini",
                "--api-base",
                fake.base_url,
                "--json",
                str(tmp_path / "one-report.json"),
            ],
        )
    # The key did go over the wire, and the provider did echo it back.
    assert not any(FAKE_KEY in json.dumps(b) for b in fake.bodies)  # never in a request body
    assert batch.exit_code == 7, batch.output
    assert check.exit_code == 3, check.output  # authentication failure: a config error
    errors = (out / "errors.jsonl").read_text(encoding="utf-8")
    assert "fake fault 500 for Bearer [redacted]" in errors
    assert "[redacted]" in check.output
    written = [p.read_text(encoding="utf-8", errors="replace") for p in _files_under(tmp_path)]
    assert len(written) >= 5  # reports, errors, summary, cache entries, inputs
    for text in [*written, batch.output, check.output, caplog.text]:
        assert FAKE_KEY not in text
        assert FAKE_KEY[8:24] not in text  # nor a recognisable piece of it
