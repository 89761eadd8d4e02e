"""`newsaudit history`: batch run folders loaded into an embedded DuckDB file, and read back.

Run folders are built here from the committed example reports (examples/*.json) with their
ids, titles and sources changed, and a summary.json from the batch's own ``summary``.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import threading
import time
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import newsaudit
from pipeline.batch import ERRORS, REPORTS, SUMMARY, BatchStats, story_folder
from pipeline.batch.stats import summary, write_json
from pipeline.cli.main import app
from pipeline.core.config import Settings
from pipeline.core.errors import InputError, LockedError
from pipeline.core.lock import LOCK_NAME, exclusive
from pipeline.history import SCHEMA_VERSION, TABLES, add_runs, lock_path, tables
from tests.batch_helpers import write_jsonl
from tests.conftest import EXAMPLES
from tests.fake_server import FakeServer, synthetic_records

SOURCES = ["Daily Planet", "The Bugle", None]  # None: the article's URL names it
FINISHED = "2025-03-14T02:30:00+00:00"


@cache
def templates() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json"))]


def record(number: int, story: str | None = None) -> dict[str, Any]:
    """A batch reports.jsonl record: an example report with its article renamed."""
    report = copy.deepcopy(templates()[number % len(templates())])
    article = report["article"]
    source = SOURCES[number % len(SOURCES)]
    article.update(id=f"a{number}", title=f"Story number {number}", source=source)
    article["url"] = f"https://www.outlet{number % 2}.example/{number}"
    fields = {"story_id": story} if story else {}
    key = f"{number:064x}"
    row = {"key": key, "id": f"a{number}", "input": f"in/feed.jsonl:{number + 1}"}
    return {**row, **({"fields": fields} if fields else {}), "report": report}


def error(number: int) -> dict[str, Any]:
    return {
        "key": None,
        "id": None,
        "input": f"in/feed.jsonl:{number + 1}",
        "error_type": "input_error",
        "message": f"in/feed.jsonl:{number + 1}: record has neither 'text' nor 'html'",
        "exception": "InputError",
        "stage": None,
        "spent": {},
        "at": FINISHED,
    }


def write_run(
    folder: Path,
    reports: list[dict[str, Any]],
    errors: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    with_summary: bool = True,
    finished: str = FINISHED,
) -> Path:
    """A batch output folder: reports.jsonl, errors.jsonl and (unless not) summary.json."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in reports)
    (folder / REPORTS).write_text(lines, encoding="utf-8")
    write_jsonl(folder / ERRORS, list(errors))
    if with_summary:
        stats = BatchStats(total=len(reports) + len(errors), failed=len(errors))
        for r in reports:
            stats.add_report(r["report"])
        fingerprint = {"model": "openai/fake-model", "seed": 7}
        run = {"input": "in", "engine": "local", "processes": 1, "fingerprint": fingerprint}
        made = summary(stats, Settings(model="openai/fake-model"), run, len(reports))
        write_json(folder / SUMMARY, {**made, "finished_at": finished, "seconds": 1800.0})
    return folder


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["history", *args])


def counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_loading_a_run_fills_every_table_and_loading_it_again_adds_nothing(
    tmp_path: Path,
) -> None:
    reports = [record(i, story="budget" if i < 3 else None) for i in range(6)]
    run = write_run(tmp_path / "night", reports, [error(6)])
    (story_folder(run, "budget")).mkdir(parents=True)  # the run compared this story
    db = tmp_path / "history.duckdb"
    result = invoke("add", str(run), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "created (schema version 1)" in result.output
    assert "(complete): 6 articles added, 1 errors" in result.output
    first = counts(db)
    assert first["runs"] == 1 and first["articles"] == 6 and first["errors"] == 1
    assert first["stories"] == 3
    assert first["sentences"] == sum(len(r["report"]["sentences"]) for r in reports)
    assert first["findings"] == sum(len(r["report"]["bias"]["findings"]) for r in reports)
    assert first["unsupported"] == sum(
        len(r["report"]["unsupported"]) + len(r["report"]["unsupported_mild"]) for r in reports
    )
    result = invoke("add", str(run), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "0 articles added (6 already loaded), 1 errors" in result.output
    assert counts(db) == first

    history = newsaudit.history(db)
    runs, articles = history.runs, history["articles"]
    assert list(history) == [t for t in TABLES if t != "meta"]
    for name, frame in history.items():
        assert list(frame.columns) == [c for c, _ in TABLES[name][0]], name
    assert runs.loc[0, "complete"] and runs.loc[0, "succeeded"] == 6 and runs.loc[0, "failed"] == 1
    started = datetime.fromisoformat(FINISHED).timestamp() - 1800
    night = runs.loc[0, "night"]  # a DATE: datetime64 in pandas
    assert night.date() == datetime.fromtimestamp(started).date()  # the local date
    assert runs.loc[0, "run_dir"] == str(run.resolve())
    assert json.loads(runs.loc[0, "fingerprint"]) == {"model": "openai/fake-model", "seed": 7}
    tokens = sum(s["prompt_tokens"] for r in reports for s in r["report"]["stages"])
    assert runs.loc[0, "prompt_tokens"] == tokens
    assert articles["report_line"].tolist() == [1, 2, 3, 4, 5, 6]
    assert (articles["night"] == night).all() and (articles["run_id"] == runs.run_id[0]).all()
    assert articles["source"].tolist()[:3] == ["Daily Planet", "The Bugle", "outlet0.example"]
    assert articles["story"].fillna("-").tolist() == ["budget"] * 3 + ["-"] * 3
    first_report = reports[0]["report"]
    row = articles.iloc[0]
    assert row["slant"] == first_report["bias"]["overall"]
    assert row["slant_score"] == pytest.approx(first_report["bias"]["score"])
    assert row["sentences"] == len(first_report["sentences"])
    assert row["unsupported_strong"] == len(first_report["unsupported"])
    assert row["words"] == sum(len(s["text"].split()) for s in first_report["sentences"])
    strong = history.unsupported.query("key == @row.key and strong")
    assert strong["sentence"].tolist() == first_report["unsupported"]


def test_a_torn_run_loads_its_complete_lines_and_says_what_it_skipped(tmp_path: Path) -> None:
    reports = [record(i) for i in range(4)]
    run = write_run(tmp_path / "night", reports, with_summary=False)
    whole = (run / REPORTS).read_bytes()
    (run / REPORTS).write_bytes(whole[: whole.rfind(b"\n", 0, -1) + 40])  # line 4 cut
    db = tmp_path / "history.duckdb"
    result = invoke("add", str(run), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "(incomplete): 3 articles added" in result.output
    assert "reports.jsonl line 4: torn" in result.output
    assert "no summary.json" in result.output
    first = tables(db, ["runs", "articles"])
    assert not first["runs"].loc[0, "complete"] and len(first["articles"]) == 3
    # The run finishes (resumed): the same run, now whole, with the fourth article.
    write_run(run, reports)
    result = invoke("add", str(run), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "(complete): 1 articles added (3 already loaded)" in result.output
    second = tables(db, ["runs", "articles"])
    assert second["runs"]["run_id"].tolist() == first["runs"]["run_id"].tolist()
    assert second["runs"].loc[0, "complete"] and len(second["articles"]) == 4


def test_a_folder_being_written_or_reused_on_a_later_night(tmp_path: Path) -> None:
    run = write_run(tmp_path / "nightly", [record(i) for i in range(3)])
    lock = run / LOCK_NAME  # a batch is at work on the folder: its lock file names it
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    db = tmp_path / "history.duckdb"
    result = invoke("add", str(run), "--db", str(db))
    assert "(incomplete): 3 articles added" in result.output
    assert f"a batch run (pid {os.getpid()} since" in result.output
    lock.write_text("")  # it ended; the next night reruns the same --out with new articles
    reports = [record(i) for i in range(5)]
    write_run(run, reports, finished=FINISHED.replace("T02:", "T04:"))  # it finished later
    whole = (run / REPORTS).read_bytes()
    (run / REPORTS).write_bytes(whole[:-1])  # a whole last line without its newline is kept
    result = invoke("add", str(run), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "(complete): 2 articles added (3 already loaded)" in result.output
    history = newsaudit.history(db)
    # The first load was incomplete: the same run goes on, whole now, with all five.
    assert len(history.runs) == 1 and history.runs.loc[0, "complete"]
    assert sorted(history.articles["report_line"]) == [1, 2, 3, 4, 5]
    # A night later the folder gets two more articles: a new run holding only those.
    write_run(run, [*reports, record(5), record(6)], finished=FINISHED.replace("-14T", "-16T"))
    result = invoke("add", str(run), "--db", str(db))
    assert "(complete): 2 articles added (5 already loaded)" in result.output
    history = newsaudit.history(db)
    assert len(history.runs) == 2 and history.runs["succeeded"].tolist() == [5, 2]
    later = history.articles.query("run_id == @history.runs.run_id[1]")
    assert later["report_line"].tolist() == [6, 7]


def test_a_night_with_only_failures_has_a_run_and_its_errors(tmp_path: Path) -> None:
    run = write_run(tmp_path / "night", [], [error(i) for i in range(3)])
    db = tmp_path / "history.duckdb"
    assert invoke("add", str(run), "--db", str(db), "--night", "2025-03-13").exit_code == 0
    history = newsaudit.history(db)
    assert history.articles.empty and len(history.errors) == 3
    assert history.runs.loc[0, "night"].date() == date(2025, 3, 13)
    assert history.runs.loc[0, "succeeded"] == 0 and history.runs.loc[0, "failed"] == 3
    assert set(history.errors["error_type"]) == {"input_error"}
    # --night on a loaded run moves it and its articles
    run = write_run(tmp_path / "other", [record(0)], finished=FINISHED.replace("02:", "03:"))
    assert invoke("add", str(run), "--db", str(db)).exit_code == 0
    assert invoke("add", str(run), "--db", str(db), "--night", "2025-03-10").exit_code == 0
    moved = newsaudit.history(db, ["runs", "articles"])
    assert moved.articles["night"].dt.date.tolist() == [date(2025, 3, 10)]
    assert sorted(moved.runs["night"].dt.date) == [date(2025, 3, 10), date(2025, 3, 13)]


def test_an_older_schema_is_migrated_and_a_newer_one_refused(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute("INSERT INTO meta VALUES ('schema_version', '0')")
        con.execute("CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, run_dir VARCHAR)")
    with pytest.raises(InputError, match=r"schema version 0.*history migrate"):
        newsaudit.history(db)  # readers never migrate
    run = write_run(tmp_path / "night", [record(0)])
    result = invoke("add", str(run), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "migrated from schema version 0 to 1: added column runs.night" in result.output
    assert len(newsaudit.history(db).articles) == 1
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    result = invoke("add", str(run), "--db", str(db))
    assert result.exit_code == 2
    assert "schema version 2 was written by a newer newsaudit" in result.output
    assert SCHEMA_VERSION == 1


def test_bad_arguments_exit_2_naming_the_input(tmp_path: Path) -> None:
    missing = tmp_path / "missing.duckdb"
    result = invoke("info", "--db", str(missing))
    assert result.exit_code == 2 and f"{missing}: no such history database" in result.output
    with pytest.raises(InputError, match="no such history database"):
        newsaudit.history(missing)
    empty = tmp_path / "notarun"
    empty.mkdir()
    result = invoke("add", str(empty), "--db", str(tmp_path / "h.duckdb"))
    assert result.exit_code == 2 and f"{empty}: not a batch run folder" in result.output
    assert not (tmp_path / "h.duckdb").exists()  # checked before the database is made
    result = invoke("add", str(tmp_path / "nowhere"), "--db", str(tmp_path / "h.duckdb"))
    assert result.exit_code == 2 and "no such run folder" in result.output
    run = write_run(tmp_path / "night", [record(0)])
    result = invoke("add", str(run), "--db", str(tmp_path / "h.duckdb"), "--night", "14/3")
    assert result.exit_code == 2 and "is not a date YYYY-MM-DD" in result.output
    text = tmp_path / "text.duckdb"
    text.write_text("not a database")
    result = invoke("add", str(run), "--db", str(text))
    assert result.exit_code == 2 and "not a DuckDB database" in result.output


def test_a_second_history_add_on_one_database_is_refused_or_waits(tmp_path: Path) -> None:
    run = write_run(tmp_path / "night", [record(0), record(1)])
    db = tmp_path / "history.duckdb"
    with exclusive(lock_path(db)):  # another `history add` at work
        result = invoke("add", str(run), "--db", str(db))
    assert result.exit_code == LockedError.exit_code
    assert f"history database {db}: in use by pid" in result.output
    assert not db.exists()

    held = threading.Event()

    def hold() -> None:
        with exclusive(lock_path(db)):
            held.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    started = time.monotonic()
    result = invoke("add", str(run), "--db", str(db), "--wait")
    holder.join()
    assert result.exit_code == 0, result.output
    assert "waiting" in result.output and time.monotonic() - started >= 0.3
    assert counts(db)["articles"] == 2


def test_runs_of_several_nights_and_a_parquet_export(tmp_path: Path) -> None:
    first = write_run(tmp_path / "n1", [record(i) for i in range(3)])
    second = write_run(
        tmp_path / "n2",
        [record(i + 3) for i in range(2)],
        finished=FINISHED[:9] + "5T02:30:00+00:00",
    )
    db = tmp_path / "history.duckdb"
    change, loaded = add_runs(db, [first, second])
    assert change and [x.added for x in loaded] == [3, 2]
    assert loaded[0].run_id != loaded[1].run_id and loaded[1].night > loaded[0].night
    result = invoke("export", "--db", str(db), "--parquet", str(tmp_path / "warehouse"))
    assert result.exit_code == 0, result.output
    nights = sorted(p.name for p in (tmp_path / "warehouse" / "sentences").iterdir())
    assert nights == [f"night={x.night}" for x in loaded]
    with duckdb.connect() as con:
        parquet = str(tmp_path / "warehouse" / "articles" / "**" / "*.parquet")
        assert con.execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchone()[0] == 5
    info = json.loads(invoke("info", "--db", str(db)).stdout)
    assert info["nights"] == 2 and info["rows"]["articles"] == 5


def test_batch_with_history_loads_the_run_at_its_end(tmp_path: Path, server: FakeServer) -> None:
    records = synthetic_records(3)
    for item in records[:2]:
        item["story_id"] = "s1"
    source = write_jsonl(tmp_path / "in.jsonl", [*records, {"id": "empty", "text": ""}])
    out, db = tmp_path / "out", tmp_path / "history.duckdb"
    args = ["batch", str(source), "--out", str(out), "-q", "--story", "story_id"]
    args += ["--model", "openai/fake-model", "--api-base", server.base_url, "--history", str(db)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 7, result.output  # the empty record failed
    assert "3 articles added, 1 errors" in result.output
    history = newsaudit.history(db)
    assert sorted(history.articles["article_id"]) == ["syn-0", "syn-1", "syn-2"]
    assert sorted(history.stories["key"]) == sorted(
        history.articles.query("article_id in ['syn-0', 'syn-1']")["key"]
    )
    assert history.runs.loc[0, "complete"] and history.runs.loc[0, "inputs"] == 4
    assert history.errors.loc[0, "error_type"] == "input_error"
    assert history.runs.loc[0, "finished_at"] <= datetime.now(UTC).replace(tzinfo=None)
