"""`newsaudit eval`: the rows file, the resumable runner and the command end to end with a fake
scorer (the metrics themselves: test_metrics.py)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.cli.progress import EvalProgress
from pipeline.core.config import Settings
from pipeline.core.errors import ConfigError, InputError, NewsauditError
from pipeline.evaluation import scorers
from pipeline.evaluation.metrics import confusion
from pipeline.evaluation.rows import (
    BiasRow,
    FaithfulnessRow,
    Row,
    Scorer,
    evaluate,
    predict,
    read_rows,
    saved_predictions,
)
from tests.test_metrics import LABELS, SCORES

# The rows file --------------------------------------------------------------------------------


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _bias_rows(n: int) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "text": f"Sentence {i}.", "label": i % 3 == 0} for i in range(n)]


def test_rows_are_read_and_typed(tmp_path: Path) -> None:
    bias = _write(tmp_path / "b.jsonl", [*_bias_rows(2), "", {**_bias_rows(3)[2], "extra": 1}])
    rows = read_rows(bias, "bias")
    assert [r.id for r in rows] == ["r0", "r1", "r2"]
    assert rows[0] == BiasRow(id="r0", text="Sentence 0.", label=True)
    faith = _write(tmp_path / "f.jsonl", [{"id": "a", "document": "D.", "claim": "C.", "label": 0}])
    with pytest.raises(InputError, match=r"f\.jsonl:1: field 'label': .*boolean"):
        read_rows(faith, "faithfulness")
    faith.write_text('{"id": "a", "document": "D.", "claim": "C.", "label": false}\n')
    assert read_rows(faith, "faithfulness") == [
        FaithfulnessRow(id="a", document="D.", claim="C.", label=False)
    ]


@pytest.mark.parametrize(
    ("lines", "task", "expected"),
    [
        (['{"id": "a", "text": "x", "label": true}', "{not json"], "bias", r":2: invalid JSON"),
        (['{"id": "a", "label": true}'], "bias", r":1: missing field 'text'"),
        (['{"id": "a", "text": "x", "label": "yes"}'], "bias", r":1: field 'label'"),
        (['{"id": 7, "text": "x", "label": true}'], "bias", r":1: field 'id'.*got 7"),
        (['{"id": "a", "text": "", "label": true}'], "bias", r":1: field 'text'"),
        (['["a", "x", true]'], "bias", r":1: a row must be a JSON object"),
        (['{"id": "a", "text": "x", "label": true}'], "faithfulness", r":1: missing field"),
        (
            [
                '{"id": "a", "text": "x", "label": true}',
                "",
                '{"id": "a", "text": "y", "label": false}',
            ],
            "bias",
            r":3: duplicate id 'a' \(first on line 1\)",
        ),
        ([], "bias", r": no rows"),
        (["", "  "], "bias", r": no rows"),
    ],
)
def test_bad_rows_name_the_file_and_line(
    tmp_path: Path, lines: list[str], task: str, expected: str
) -> None:
    path = _write(tmp_path / "rows.jsonl", lines)
    with pytest.raises(InputError, match=r"rows\.jsonl" + expected):
        read_rows(path, task)


def test_missing_file_and_limit(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.jsonl: unreadable"):
        read_rows(tmp_path / "nope.jsonl", "bias")
    path = _write(tmp_path / "rows.jsonl", [*_bias_rows(3), "{broken"])
    assert [r.id for r in read_rows(path, "bias", limit=2)] == ["r0", "r1"]
    with pytest.raises(InputError, match=r":4: invalid JSON"):
        read_rows(path, "bias")
    path.write_bytes(b'{"id": "a", "text": "caf\xe9", "label": true}\n')  # Latin-1, not UTF-8
    with pytest.raises(InputError, match=r"rows\.jsonl:1: not UTF-8 text"):
        read_rows(path, "bias")


# The runner -----------------------------------------------------------------------------------


class FakeScorer:
    """Scores from a table by id; raises after ``fail_after`` chunks (a killed run)."""

    def __init__(self, scores: dict[str, float], fail_after: int | None = None) -> None:
        self.scores = scores
        self.fail_after = fail_after
        self.chunks: list[list[str]] = []

    async def __call__(self, rows: list[Row]) -> list[float]:
        if self.fail_after is not None and len(self.chunks) >= self.fail_after:
            raise NewsauditError("provider gone")
        self.chunks.append([r.id for r in rows])
        return [self.scores[r.id] for r in rows]


def _rows(n: int) -> list[Row]:
    return [BiasRow(id=f"r{i}", text=f"s{i}", label=i % 3 == 0) for i in range(n)]


def _table(rows: list[Row]) -> dict[str, float]:
    return {r.id: (0.8 if r.label else 0.3) if int(r.id[1:]) % 5 else 0.55 for r in rows}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _run(rows: list[Row], scorer: Scorer, out: Path, threshold: float = 0.5, **kw: Any) -> Any:
    return asyncio.run(evaluate(rows, scorer, out, task="bias", threshold=threshold, **kw))


def test_a_killed_run_resumes_and_predicts_every_id_once(tmp_path: Path) -> None:
    rows, out = _rows(20), tmp_path / "pred.jsonl"
    first = FakeScorer(_table(rows), fail_after=2)
    with pytest.raises(NewsauditError, match="provider gone"):
        _run(rows, first, out, chunk_size=3)
    assert [line["id"] for line in _lines(out)] == [f"r{i}" for i in range(6)]
    second = FakeScorer(_table(rows))
    summary = _run(rows, second, out, chunk_size=3)
    assert [i for chunk in second.chunks for i in chunk] == [f"r{i}" for i in range(6, 20)]
    assert max(len(c) for c in second.chunks) == 3
    ids = [line["id"] for line in _lines(out)]
    assert sorted(ids) == sorted(r.id for r in rows) and len(ids) == len(set(ids))
    for line in _lines(out):
        assert set(line) == {"id", "score", "pred"}
        assert line["pred"] == (line["score"] >= 0.5)
    assert summary.n == 20 and summary.positives == 7  # metrics over the skipped rows too


def test_a_torn_last_line_is_cut_and_its_row_scored(tmp_path: Path) -> None:
    rows, out = _rows(4), tmp_path / "pred.jsonl"
    out.write_text('{"id":"r0","score":0.8,"pred":true}\n{"id":"r1","score":0.3,"pred":false}\n')
    with out.open("a") as handle:
        handle.write('{"id":"r2","sco')
    scorer = FakeScorer(_table(rows))
    _run(rows, scorer, out)
    assert scorer.chunks == [["r2", "r3"]]
    assert [line["id"] for line in _lines(out)] == ["r0", "r1", "r2", "r3"]


def test_each_chunk_is_on_disk_before_the_next_is_scored(tmp_path: Path) -> None:
    rows, out = _rows(5), tmp_path / "pred.jsonl"
    seen: list[int] = []

    async def scorer(chunk: list[Row]) -> list[float]:
        seen.append(len(saved_predictions(out)))
        return [0.5] * len(chunk)

    _run(rows, scorer, out, chunk_size=2)
    assert seen == [0, 2, 4]
    assert all(line["pred"] for line in _lines(out))  # a score equal to the threshold is true


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (lambda rows: [0.5] * (len(rows) - 1), "returned 1 scores for 2 rows"),
        (lambda rows: [0.5, 1.5], r"row 'r1' the score 1\.5"),
        (lambda rows: [0.5, float("nan")], "row 'r1' the score nan"),
    ],
)
def test_a_bad_scorer_output_is_refused_unwritten(
    tmp_path: Path, answer: Callable[[list[Row]], list[float]], expected: str
) -> None:
    out = tmp_path / "pred.jsonl"

    async def scorer(chunk: list[Row]) -> list[float]:
        return answer(chunk)

    with pytest.raises(NewsauditError, match=expected):
        _run(_rows(2), scorer, out)
    assert out.read_text() == ""


def test_metrics_use_this_runs_threshold_and_say_so(tmp_path: Path) -> None:
    rows, out = _rows(10), tmp_path / "pred.jsonl"
    _run(rows, FakeScorer(_table(rows)), out, threshold=0.5)
    notes: list[str] = []
    again = FakeScorer(_table(rows))
    summary = _run(rows, again, out, threshold=0.6, log=notes.append)
    assert again.chunks == []
    # r0 and r5 score 0.55: predicted true at 0.5, false at 0.6.
    assert notes == [
        f"2 predictions in {out} were made at another threshold; the metrics use score >= 0.6"
    ]
    assert summary.threshold == 0.6
    assert summary.confusion == confusion(
        [r.label for r in rows], [_table(rows)[r.id] >= 0.6 for r in rows]
    )


def test_ids_of_other_inputs_in_the_output_are_left_out(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    out.write_text('{"id":"other","score":0.9,"pred":true}\n')
    rows = _rows(3)
    summary = _run(rows, FakeScorer(_table(rows)), out)
    assert summary.n == 3


def test_bad_threshold_and_chunk_size(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"threshold 1\.5"):
        _run(_rows(2), FakeScorer({}), tmp_path / "p.jsonl", threshold=1.5)
    with pytest.raises(ConfigError, match="chunk size"):
        asyncio.run(
            predict(_rows(2), FakeScorer({}), tmp_path / "p.jsonl", threshold=0.5, chunk_size=0)
        )


def test_progress_plain_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    with EvalProgress(stream, every_s=3600) as progress:
        for finished in (2, 4, 6, 8, 10):
            progress(finished, 2, 10)
    # the first call draws, then only the last (the interval has not passed in between)
    assert stream.getvalue().splitlines() == [
        "newsaudit: eval: 2/10 rows scored (2 already in the output)",
        "newsaudit: eval: 10/10 rows scored (2 already in the output)",
    ]


def test_progress_bar_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    with EvalProgress(stream) as progress:
        progress(3, 1, 4)
        progress(4, 1, 4)
    assert "newsaudit eval" in stream.getvalue() and "4/4" in stream.getvalue()
    assert "rows scored" not in stream.getvalue()


# Scorer registry and the command -------------------------------------------------------------


def test_make_scorer_names_a_missing_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scorers, "SCORERS", {})
    with pytest.raises(ConfigError, match="no scorer for task 'bias'"):
        scorers.make_scorer("bias", object(), Settings())
    fake = FakeScorer({})
    monkeypatch.setitem(scorers.SCORERS, "bias", lambda llm, settings: (fake, 0.4))
    assert scorers.make_scorer("bias", object(), Settings()) == (fake, 0.4)


runner = CliRunner()
CLI_SCORES = dict(zip([f"r{i}" for i in range(6)], SCORES, strict=True))


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    for name in ("NEWSAUDIT_MODEL", "NEWSAUDIT_API_BASE", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSAUDIT_CONFIG", "/dev/null")
    calls: list[Any] = []

    def factory(llm: Any, settings: Settings) -> tuple[Scorer, float]:
        calls.append((llm.model, settings.model))
        return FakeScorer(CLI_SCORES), 0.5

    monkeypatch.setattr(scorers, "SCORERS", {"bias": factory})
    rows = [{"id": f"r{i}", "text": f"Sentence {i}.", "label": y} for i, y in enumerate(LABELS)]
    return {
        "rows": _write(tmp_path / "rows.jsonl", rows),
        "out": tmp_path / "pred.jsonl",
        "calls": calls,
    }


def _eval_args(env: dict[str, Any], *extra: str, task: str = "bias") -> list[str]:
    model = ["--model", "openai/fake", "--api-base", "http://127.0.0.1:9/v1"]
    return ["eval", str(env["rows"]), "--task", task, "--out", str(env["out"]), *model, *extra]


def test_cli_writes_predictions_and_prints_the_metrics(cli_env: dict[str, Any]) -> None:
    result = runner.invoke(app, _eval_args(cli_env))
    assert result.exit_code == 0, result.stderr
    assert cli_env["calls"] == [("openai/fake", "openai/fake")]
    assert _lines(cli_env["out"]) == [
        {"id": f"r{i}", "score": s, "pred": s >= 0.5} for i, s in enumerate(SCORES)
    ]
    out = result.stdout
    assert "n = 6 (2 labelled true, 4 false), threshold 0.5" in out
    for row in ("| balanced accuracy | 0.875 | [", "| macro-F1 | 0.829 | [", "| AUC | 0.938 | ["):
        assert row in out
    assert "95% interval" in out
    assert (
        "| labelled true | 2 (tp) | 0 (fn) |" in out
        and "| labelled false | 1 (fp) | 3 (tn) |" in out
    )
    assert "newsaudit: eval: 6/6 rows scored" in result.stderr
    again = runner.invoke(app, _eval_args(cli_env))
    assert again.exit_code == 0 and again.stdout == out
    assert len(_lines(cli_env["out"])) == 6
    assert "6/6 rows scored (6 already in the output)" in again.stderr


def test_cli_threshold_and_limit(cli_env: dict[str, Any]) -> None:
    result = runner.invoke(app, _eval_args(cli_env, "--threshold", "0.95", "--limit", "4"))
    assert result.exit_code == 0, result.stderr
    assert [line["pred"] for line in _lines(cli_env["out"])] == [False] * 4
    assert "n = 4 (2 labelled true, 2 false), threshold 0.95" in result.stdout
    assert "| labelled true | 0 (tp) | 2 (fn) |" in result.stdout


def test_cli_bad_rows_exit_2_naming_the_line(cli_env: dict[str, Any]) -> None:
    cli_env["rows"].write_text('{"id": "a", "text": "x", "label": true}\n{"id": "a"}\n')
    result = runner.invoke(app, _eval_args(cli_env))
    assert result.exit_code == 2
    errors = [x for x in result.stderr.splitlines() if x.startswith("newsaudit: error:")]
    assert len(errors) == 1 and "rows.jsonl:2: missing field 'label'" in errors[0]
    assert not cli_env["out"].exists() and cli_env["calls"] == []


def test_cli_task_without_a_scorer_is_a_config_error(cli_env: dict[str, Any]) -> None:
    cli_env["rows"].write_text('{"id": "a", "document": "D.", "claim": "C.", "label": true}\n')
    result = runner.invoke(app, _eval_args(cli_env, task="faithfulness"))
    assert result.exit_code == 3
    assert "no scorer for task 'faithfulness'" in result.stderr
