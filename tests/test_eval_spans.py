"""`newsaudit eval --task spans`: the rows file, the resumable runner, the threshold applied to
saved spans, the scorer over the tagger and the command end to end with a fake scorer (the
metrics themselves: test_span_metrics.py)."""

from __future__ import annotations

import asyncio
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli import judge
from pipeline.cli.main import app
from pipeline.core.config import Settings
from pipeline.core.errors import ConfigError, InputError, NewsauditError
from pipeline.evaluation import scorers
from pipeline.evaluation.rows import saved_predictions
from pipeline.evaluation.spans import (
    Prediction,
    SpanRow,
    SpanScorer,
    evaluate_spans,
    kept,
    predict_spans,
    read_span_rows,
    summarize_span_file,
    valid_span_line,
)
from tests.test_span_metrics import GOLD, IDS, TAGGED, TEXTS


def _rows(ids: list[str] = IDS) -> list[SpanRow]:
    return [SpanRow.model_validate({"id": i, "text": TEXTS[i], "spans": GOLD[i]}) for i in ids]


# The rows file --------------------------------------------------------------------------------


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _row_dicts(ids: list[str] = IDS) -> list[dict[str, Any]]:
    return [{"id": i, "text": TEXTS[i], "spans": GOLD[i]} for i in ids]


def test_rows_are_read_with_spans_as_tuples(tmp_path: Path) -> None:
    extra = {**_row_dicts(["a"])[0], "label": True, "source": "ignored"}
    path = _write(tmp_path / "rows.jsonl", [extra, "", *_row_dicts(["c", "e"])])
    rows = read_span_rows(path)
    assert [r.id for r in rows] == ["a", "c", "e"]
    assert rows[0].spans == ((31, 39), (40, 47)) and rows[0].label is True
    assert TEXTS["a"][31:39] == "stunning"
    assert rows[1].spans == () and rows[1].label is None
    assert [r.id for r in read_span_rows(path, limit=2)] == ["a", "c"]


TEXT = "Prices rose sharply."  # 20 characters


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"id": "x", "text": TEXT}, r"missing field 'spans'"),
        ({"id": "x", "spans": []}, r"missing field 'text'"),
        ({"text": TEXT, "spans": []}, r"missing field 'id'"),
        (
            {"id": "x", "text": TEXT, "spans": [[0, 6], [7]]},
            r"field 'spans': spans\[1\] is not a \[start, end\] pair of integers \(got \[7\]\)",
        ),
        (
            {"id": "x", "text": TEXT, "spans": [[0, "6"]]},
            r"field 'spans': spans\[0\] is not a \[start, end\] pair of integers "
            r"\(got \[0, \"6\"\]\)",
        ),
        (
            {"id": "x", "text": TEXT, "spans": [[0.0, 6]]},
            r"field 'spans': spans\[0\] is not a \[start, end\]",
        ),
        (
            {"id": "x", "text": TEXT, "spans": [[True, 6]]},
            r"field 'spans': spans\[0\] is not a \[start, end\]",
        ),
        (
            {"id": "x", "text": TEXT, "spans": [0, 6]},
            r"field 'spans': spans\[0\] is not a \[start, end\]",
        ),
        (
            {"id": "x", "text": TEXT, "spans": "0-6"},
            r"field 'spans': must be a list of \[start, end\] pairs",
        ),
        (
            {"id": "x", "text": TEXT, "spans": [[12, 21]]},
            r"field 'spans': spans\[0\] = \[12, 21\] ends after the text of 20 characters "
            r"\(end must be <= 20\)",
        ),
        (
            {"id": "x", "text": TEXT, "spans": [[-1, 6]]},
            r"field 'spans': spans\[0\] = \[-1, 6\] starts before the text",
        ),
        (
            {"id": "x", "text": TEXT, "spans": [[6, 6]]},
            r"field 'spans': spans\[0\] = \[6, 6\] is empty or rev",
        ),
        (
            {"id": "x", "text": TEXT, "spans": [[9, 3]]},
            r"field 'spans': spans\[0\] = \[9, 3\] is empty or rev",
        ),
        ({"id": "x", "text": TEXT, "spans": [], "label": "yes"}, r"field 'label'"),
        ({"id": "x", "text": "", "spans": []}, r"field 'text'"),
    ],
)
def test_bad_rows_name_the_file_line_and_problem(
    tmp_path: Path, line: dict[str, Any], expected: str
) -> None:
    path = _write(tmp_path / "rows.jsonl", [{"id": "ok", "text": TEXT, "spans": [[0, 6]]}, line])
    with pytest.raises(InputError, match=r"rows\.jsonl:2: " + expected):
        read_span_rows(path)


def test_duplicate_ids_and_empty_files_are_refused(tmp_path: Path) -> None:
    twice = _write(tmp_path / "twice.jsonl", [*_row_dicts(["a", "b"]), _row_dicts(["a"])[0]])
    with pytest.raises(InputError, match=r"twice\.jsonl:3: duplicate id 'a' \(first on line 1\)"):
        read_span_rows(twice)
    empty = _write(tmp_path / "empty.jsonl", ["", " "])
    with pytest.raises(InputError, match=r"empty\.jsonl: no rows"):
        read_span_rows(empty)
    with pytest.raises(InputError, match=r"broken\.jsonl:1: invalid JSON"):
        read_span_rows(_write(tmp_path / "broken.jsonl", ['{"id": "a", "text"']))


# The runner -----------------------------------------------------------------------------------


class FakeTagger:
    """Tagged spans from TAGGED by id; raises after ``fail_after`` chunks (a killed run)."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.chunks: list[list[str]] = []

    async def __call__(self, rows: list[SpanRow]) -> list[list[Prediction]]:
        if self.fail_after is not None and len(self.chunks) >= self.fail_after:
            raise NewsauditError("tagger gone")
        self.chunks.append([r.id for r in rows])
        return [list(TAGGED[r.id]) for r in rows]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _run(scorer: SpanScorer, out: Path, threshold: float = 0.5, **kw: Any) -> Any:
    return asyncio.run(evaluate_spans(_rows(), scorer, out, threshold=threshold, **kw))


def test_output_lines_hold_every_tagged_span_and_its_score(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    summary = _run(FakeTagger(), out)
    assert _lines(out) == [
        {"id": i, "spans": [[s, e] for s, e, _ in TAGGED[i]], "scores": [p for *_, p in TAGGED[i]]}
        for i in IDS
    ]
    assert _lines(out)[3]["scores"] == [0.3]  # below the threshold, saved all the same
    assert summary.recall.value == pytest.approx(3 / 5)
    assert summary.precision.value == pytest.approx(1 / 2)


def test_a_killed_run_resumes_and_tags_only_the_missing_ids(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    with pytest.raises(NewsauditError, match="tagger gone"):
        _run(FakeTagger(fail_after=1), out, chunk_size=2)
    assert [line["id"] for line in _lines(out)] == ["a", "b"]
    second = FakeTagger()
    summary = _run(second, out, chunk_size=2)
    assert second.chunks == [["c", "d"], ["e"]]
    assert [line["id"] for line in _lines(out)] == IDS
    assert summary.n == 5 and summary.gold == 5 and summary.predicted == 4  # over all rows
    third = FakeTagger()
    _run(third, out)
    assert third.chunks == []


def test_a_torn_last_line_is_cut_and_its_row_tagged(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    out.write_text('{"id":"a","spans":[[31,47]],"scores":[0.9]}\n{"id":"b","spans":[[8,13]],"sco')
    tagger = FakeTagger()
    _run(tagger, out)
    assert tagger.chunks == [["b", "c", "d", "e"]]
    assert [line["id"] for line in _lines(out)] == IDS


def test_saved_lines_with_bad_spans_do_not_count_as_done(tmp_path: Path) -> None:
    assert valid_span_line({"id": "a", "spans": [[0, 3]], "scores": [0.4]})
    assert valid_span_line({"id": "a", "spans": [], "scores": []})
    for bad in (
        {"id": "a", "spans": [[3, 1]], "scores": [0.4]},  # reversed
        {"id": "a", "spans": [[0, 3]], "scores": []},  # a score short
        {"id": "a", "spans": [[0, 3]], "scores": [1.4]},  # not a probability
        {"id": "a", "spans": [[0, "3"]], "scores": [0.4]},
        {"id": "a", "spans": "0-3", "scores": [0.4]},
        {"id": "a", "score": 0.4, "pred": False},  # a line of the bias task
    ):
        assert not valid_span_line(bad), bad
    out = _write(tmp_path / "pred.jsonl", [{"id": "a", "spans": [[5, 2]], "scores": [0.9]}])
    assert saved_predictions(out, valid_span_line) == {}
    tagger = FakeTagger()
    asyncio.run(predict_spans(_rows(["a"]), tagger, out))
    assert tagger.chunks == [["a"]]


def test_the_threshold_is_applied_to_the_saved_spans_without_tagging_again(
    tmp_path: Path,
) -> None:
    out = tmp_path / "pred.jsonl"
    first = _run(FakeTagger(), out, threshold=0.5)
    assert first.precision.value == pytest.approx(2 / 4)
    again = FakeTagger(fail_after=0)  # would raise if asked to tag
    stricter = _run(again, out, threshold=0.65)
    assert again.chunks == []
    assert stricter.threshold == 0.65 and stricter.predicted == 3
    assert stricter.precision.value == pytest.approx(2 / 3)
    assert stricter.f1.value == pytest.approx(12 / 19)
    looser = summarize_span_file(_rows(), out, 0.2, n_boot=0)
    assert looser.predicted == 5 and looser.false_alarms.value == 1.0
    assert kept([[0, 2], [3, 5]], [0.5, 0.49], 0.5) == [(0, 2)]  # a tie with it is kept


def test_a_missing_prediction_is_named(tmp_path: Path) -> None:
    out = _write(tmp_path / "pred.jsonl", [{"id": "a", "spans": [], "scores": []}])
    with pytest.raises(InputError, match=r"pred\.jsonl: no prediction for 4 rows, e\.g\. 'b'"):
        summarize_span_file(_rows(), out, 0.5)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ([[]], r"returned 1 results for 2 rows"),
        ([[], [(8, 99, 0.5)]], r"row 'b' the span \(8, 99, 0\.5\)"),
        ([[], [(5, 2, 0.5)]], r"row 'b' the span"),
        ([[], [(0, 3, 1.5)]], r"row 'b' the span \(0, 3, 1\.5\)"),
        ([[(0, 3)], []], r"row 'a' the span \(0, 3\)"),
    ],
)
def test_a_bad_tagger_output_is_refused_unwritten(
    tmp_path: Path, answer: list[Any], expected: str
) -> None:
    out = tmp_path / "pred.jsonl"

    async def scorer(rows: list[SpanRow]) -> list[list[Prediction]]:
        return answer

    with pytest.raises(NewsauditError, match=expected):
        asyncio.run(predict_spans(_rows(["a", "b"]), scorer, out))
    assert out.read_text() == ""


def test_bad_threshold(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"threshold 1\.5"):
        _run(FakeTagger(), tmp_path / "p.jsonl", threshold=1.5)


# The scorer over the tagger -------------------------------------------------------------------


def test_spans_scorer_tags_each_text_with_the_tagger(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []

    def tag_texts(texts: list[str]) -> list[list[Any]]:
        asked.append(texts)
        return [
            [types.SimpleNamespace(start=0, end=3, probability=0.25, kind="x", text=t[:3])]
            for t in texts
        ]

    tagger = types.ModuleType("pipeline.signals.tagger")
    tagger.tag_texts = tag_texts  # type: ignore[attr-defined]
    tagger.threshold = lambda: 0.4  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pipeline.signals.tagger", tagger)
    scorer, default = scorers.make_span_scorer("spans", None, Settings())
    assert default == 0.4
    result = asyncio.run(scorer(_rows(["a", "c"])))
    assert asked == [[TEXTS["a"], TEXTS["c"]]]
    assert result == [[(0, 3, 0.25)], [(0, 3, 0.25)]]


def test_spans_scorer_without_a_tagger_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pipeline.signals.tagger", None)  # import fails
    with pytest.raises(ConfigError, match="task spans needs the span tagger"):
        scorers.make_span_scorer("spans", None, Settings())
    with pytest.raises(ConfigError, match="no scorer for task 'bias'"):
        scorers.make_span_scorer("bias", None, Settings())

    def no_weights() -> float:
        raise FileNotFoundError("tagger.npz")

    tagger = types.ModuleType("pipeline.signals.tagger")
    tagger.tag_texts = lambda texts: [[] for _ in texts]  # type: ignore[attr-defined]
    tagger.threshold = no_weights  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pipeline.signals.tagger", tagger)
    with pytest.raises(ConfigError, match=r"needs the span tagger.*tagger\.npz"):
        scorers.make_span_scorer("spans", None, Settings())


# The command ----------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    for name in ("NEWSAUDIT_MODEL", "NEWSAUDIT_API_BASE", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSAUDIT_CONFIG", "/dev/null")
    calls: list[Any] = []

    def factory(llm: Any, settings: Settings) -> tuple[SpanScorer, float]:
        calls.append(llm)
        return FakeTagger(), 0.5

    def no_model(settings: Settings) -> Any:
        raise AssertionError("the spans task opened the model")

    monkeypatch.setattr(scorers, "SPAN_SCORERS", {"spans": factory})
    monkeypatch.setattr(judge, "open_llm", no_model)
    return {
        "rows": _write(tmp_path / "rows.jsonl", _row_dicts()),
        "out": tmp_path / "pred.jsonl",
        "calls": calls,
    }


def _eval_args(env: dict[str, Any], *extra: str) -> list[str]:
    return ["eval", str(env["rows"]), "--task", "spans", "--out", str(env["out"]), *extra]


def test_cli_tags_prints_the_table_and_resumes(cli_env: dict[str, Any]) -> None:
    result = runner.invoke(app, _eval_args(cli_env))
    assert result.exit_code == 0, result.stderr
    assert cli_env["calls"] == [None]  # no model opened for the tagger
    assert [line["id"] for line in _lines(cli_env["out"])] == IDS
    out = result.stdout
    assert out.startswith(
        "task spans: n = 5 sentences (3 with gold spans, 2 without), 5 gold spans, "
        "4 predicted spans, threshold 0.5\n"
    )
    for row in (
        "| span recall | 0.600 | [",
        "| span precision | 0.500 | [",
        "| span F1 | 0.545 | [",
        "| false alarms | 0.500 | [",
    ):
        assert row in out
    assert "newsaudit: eval: 5/5 rows scored" in result.stderr
    again = runner.invoke(app, _eval_args(cli_env))
    assert again.exit_code == 0 and again.stdout == out
    assert len(_lines(cli_env["out"])) == 5
    assert "5/5 rows scored (5 already in the output)" in again.stderr


def test_cli_threshold_and_limit(cli_env: dict[str, Any]) -> None:
    result = runner.invoke(app, _eval_args(cli_env, "--threshold", "0.65", "--limit", "3"))
    assert result.exit_code == 0, result.stderr
    # a, b, c at 0.65: gold 4, overlapped 3; predicted 3 (b's "deal" dropped), 2 overlapping.
    assert "n = 3 sentences (2 with gold spans, 1 without), 4 gold spans, " in result.stdout
    assert "3 predicted spans, threshold 0.65" in result.stdout
    assert "| span recall | 0.750 |" in result.stdout
    assert "| span precision | 0.667 |" in result.stdout


def test_cli_bad_rows_exit_2_naming_the_line(cli_env: dict[str, Any]) -> None:
    bad = {"id": "z", "text": TEXT, "spans": [[12, 40]]}
    _write(cli_env["rows"], [*_row_dicts(["a"]), bad])
    result = runner.invoke(app, _eval_args(cli_env))
    assert result.exit_code == 2
    errors = [x for x in result.stderr.splitlines() if x.startswith("newsaudit: error:")]
    assert len(errors) == 1
    assert "rows.jsonl:2: field 'spans': spans[0] = [12, 40] ends after the text" in errors[0]
    assert not cli_env["out"].exists() and cli_env["calls"] == []


def test_cli_scorer_failure_keeps_the_lines(
    cli_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        scorers, "SPAN_SCORERS", {"spans": lambda llm, settings: (FakeTagger(fail_after=0), 0.5)}
    )
    result = runner.invoke(app, _eval_args(cli_env))
    assert result.exit_code != 0 and "tagger gone" in result.stderr
    assert "rerun the same command to resume" in result.stderr
    assert cli_env["out"].read_text() == ""  # created, nothing tagged
