"""The CLI: exit codes and one-line messages, and a full replayed run of a seed."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.model.server import weights_for
from pipeline.run import LLM_STAGES
from tests.conftest import REPLAY_API_BASE, SEEDS_DIR, make_vcr

runner = CliRunner()
SEED = "002_91cb02791afa4ef3"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEWSAUDIT_MODEL", "NEWSAUDIT_API_BASE", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSAUDIT_CONFIG", "/dev/null")


def _one_line_error(stderr: str, expected: str) -> None:
    lines = [line for line in stderr.splitlines() if line.startswith("newsaudit: error:")]
    assert len(lines) == 1 and expected in lines[0], stderr


def test_url_is_refused() -> None:
    result = runner.invoke(app, ["check", "https://example.com/a"])
    assert result.exit_code == 2
    _one_line_error(result.stderr, "fetching URLs is out of scope")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    _one_line_error(result.stderr, "empty.txt: empty input")


def test_missing_key_for_a_hosted_model() -> None:
    result = runner.invoke(
        app, ["check", str(SEEDS_DIR / f"{SEED}.txt"), "--model", "openai/gpt-4o-mini"]
    )
    assert result.exit_code == 3
    _one_line_error(result.stderr, "missing OPENAI_API_KEY")


def test_unreachable_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens
    monkeypatch.setenv("NEWSAUDIT_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("NEWSAUDIT_RETRY_INITIAL_S", "0.01")
    args = ["check", str(SEEDS_DIR / f"{SEED}.txt"), "--model", "openai/m"]
    result = runner.invoke(app, [*args, "--api-base", f"http://127.0.0.1:{port}/v1", "-q"])
    assert result.exit_code == 4
    _one_line_error(result.stderr, "after 2 attempts")
    assert "Connection error" in result.stderr


def test_check_replays_a_seed_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    model = f"openai/{weights_for('embedded/qwen2.5-coder-1.5b').alias}"
    args = [
        "check",
        str(SEEDS_DIR / f"{SEED}.txt"),
        "--model",
        model,
        "--api-base",
        REPLAY_API_BASE,
    ]
    with make_vcr(record=False).use_cassette(f"{SEED}.yaml"):
        result = runner.invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# ")
    assert "## Claims and their support" in result.stdout
    report = json.loads(out.read_text())
    assert report["article"]["id"] == SEED
    assert [s["stage"] for s in report["stages"]] == ["clean", *LLM_STAGES]
    assert "newsaudit: summarize" in result.stderr.replace(f"{SEED}: ", "")


def test_stdin_is_read_and_named_in_errors() -> None:
    result = runner.invoke(app, ["check", "-"], input="   \n")
    assert result.exit_code == 2
    _one_line_error(result.stderr, "<stdin>: only whitespace")


def test_bad_config_value_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "newsaudit.toml"
    config.write_text("max_claims = 0\n")
    result = runner.invoke(app, ["check", str(SEEDS_DIR / f"{SEED}.txt"), "--config", str(config)])
    assert result.exit_code == 3
    _one_line_error(result.stderr, "newsaudit.toml: max_claims:")


def test_render_prints_a_saved_report_as_markdown(tmp_path: Path) -> None:
    saved = Path(__file__).parent.parent / "examples" / f"{SEED}.json"
    result = runner.invoke(app, ["render", str(saved)])
    assert result.exit_code == 0
    assert result.stdout == (saved.with_suffix(".md")).read_text(encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    result = runner.invoke(app, ["render", str(broken)])
    assert result.exit_code == 2
    _one_line_error(result.stderr, "broken.json: not a readable report")
