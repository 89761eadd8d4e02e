"""The history database: opening it under its lock, loading run folders into it in bulk,
reading its tables as pandas DataFrames, and exporting them as Parquet partitioned by night.

One process at a time holds the database: ``DB.lock`` beside it (``pipeline.core.lock``),
taken by writers (refused at once unless they wait) and by readers (who wait by default), as
DuckDB itself lets one process write a file and no other open it meanwhile.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.core.errors import InputError, LockedError, NewsauditError
from pipeline.core.lock import POLL_S, Holder, exclusive
from pipeline.history import schema
from pipeline.history.load import Rows, RunFolder, open_run, read_rows

if TYPE_CHECKING:
    import pandas

DB = str | os.PathLike[str]
ARROW_TYPES = {
    "VARCHAR": "string",
    "INTEGER": "int32",
    "BIGINT": "int64",
    "DOUBLE": "float64",
    "BOOLEAN": "bool_",
    "DATE": "date32",
}
ORDER = {"runs": "night, started_at, run_id", "articles": "night, run_id, report_line"}


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:
        raise NewsauditError("the history needs duckdb: pip install 'newsaudit[history]'") from exc
    return duckdb


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as exc:
        raise NewsauditError(
            "loading the history needs pyarrow: pip install 'newsaudit[history]'"
        ) from exc
    return pyarrow


def lock_path(db: Path) -> Path:
    """The lock file of a database: ``history.duckdb.lock`` beside ``history.duckdb``."""
    return db.with_name(db.name + ".lock")


@contextmanager
def _locked(
    db: Path, wait: bool | float, on_wait: Callable[[Holder], None] | None
) -> Iterator[None]:
    lock = lock_path(db)
    if not lock.exists() and not os.access(db.parent, os.W_OK):
        yield  # a read-only folder: no writer can be at work there
        return
    with exclusive(lock, wait, what=f"history database {db}", on_wait=on_wait):
        yield


def _open(path: Path, write: bool, wait: bool | float) -> Any:
    """DuckDB's connection; a process holding the file without taking its lock (a plain
    ``duckdb.connect``) is waited for as the lock would be, else refused with LockedError."""
    duckdb = _duckdb()
    deadline = None if wait is True else time.monotonic() + float(wait)
    while True:
        try:
            return duckdb.connect(str(path), read_only=not write)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "lock" not in first.lower():
                raise InputError(
                    f"{path}: not a DuckDB database this version reads: {first}"
                ) from None
            if deadline is not None and time.monotonic() >= deadline:
                raise LockedError(
                    f"history database {path}: open in another process ({first})",
                    path=str(path),
                ) from None
        time.sleep(POLL_S)


@contextmanager
def connect(
    db: DB,
    *,
    write: bool = False,
    wait: bool | float = True,
    on_wait: Callable[[Holder], None] | None = None,
) -> Iterator[Any]:
    """A DuckDB connection to the history, under its lock, closed at the end of the ``with``.

    A reader (the default) waits for a writer to finish (``wait``: True, False to refuse at
    once with ``LockedError``, or seconds) and is refused an older or newer schema; a writer
    (``write=True``) creates the file, or migrates an older one first.
    """
    path = Path(db)
    if not write and not path.is_file():
        raise InputError(f"{db}: no such history database (`newsaudit history add` makes one)")
    if write and not path.parent.is_dir():
        raise InputError(f"{db}: no such folder {path.parent}")
    with _locked(path, wait, on_wait):
        con = _open(path, write, wait)
        try:
            if not write:
                schema.check(con, str(db))
            yield con
        finally:
            con.close()


@dataclass
class Loaded:
    """What loading one run folder did."""

    run_dir: Path
    run_id: str
    night: date
    added: int  # articles added
    already: int  # articles of the folder already in the database
    errors: int  # the run's error rows (errors.jsonl as it is now)
    complete: bool
    new_run: bool
    notes: list[str] = field(default_factory=list)  # what was skipped or is incomplete, why
    seconds: float = 0.0  # reading the folder and writing the rows


def _arrow_table(table: str, data: dict[str, list[Any]], constants: dict[str, Any]) -> Any:
    """One table's columns as an Arrow table typed as the contract says."""
    pa = _pyarrow()
    count = len(next(iter(data.values())))
    arrays, names = [], []
    for name, kind in schema.TABLES[table][0]:
        values = [constants[name]] * count if name in constants else data[name]
        arrays.append(pa.array(values, type=getattr(pa, ARROW_TYPES[kind])()))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def _insert(con: Any, table: str, data: dict[str, list[Any]], constants: dict[str, Any]) -> None:
    if not next(iter(data.values())):
        return
    view = f"_new_{table}"
    con.register(view, _arrow_table(table, data, constants))
    try:
        names = ", ".join(schema.columns(table))
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {view}")
    finally:
        con.unregister(view)


def _run_id(con: Any, folder: RunFolder, night: date | None) -> tuple[str, tuple[Any, ...] | None]:
    """The run's id and its stored row (night, started_at, tokens, cost), if any. A folder
    loaded before while incomplete (still written, killed, interrupted) keeps that run's id
    when loaded again without a summary, when that load had none, or on the same night;
    a folder reused on a later night gets a run of its own."""
    unfinished = con.execute(
        "SELECT run_id, night, fingerprint FROM runs WHERE run_dir = ? AND complete IS NOT TRUE "
        "ORDER BY started_at DESC LIMIT 1",
        [str(folder.path)],
    ).fetchone()
    wanted = night or folder.started_at.astimezone().date()
    same = unfinished is not None and (
        folder.summary is None or unfinished[2] is None or unfinished[1] == wanted
    )
    run_id = unfinished[0] if same else folder.run_id
    stored = con.execute(
        "SELECT night, started_at, prompt_tokens, completion_tokens, cost_usd FROM runs "
        "WHERE run_id = ?",
        [run_id],
    ).fetchone()
    return run_id, stored


def _complete(folder: RunFolder, rows: Rows) -> tuple[bool, list[str]]:
    """Whether the run is finished and whole, with the reasons it is not."""
    notes = list(folder.notes)
    summary = folder.summary or {}
    counted = (summary.get("counts") or {}).get("reports_in_file")
    if folder.summary is not None and counted is not None and rows.lines > int(counted):
        notes.append(
            f"reports.jsonl holds {rows.lines} reports, summary.json counted {counted}: a later "
            "run is still writing to this folder"
        )
    notes += rows.notes.words()
    return folder.summary is not None and not notes, notes


def _naive(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def _add(con: Any, folder: RunFolder, night: date | None, story: str | None) -> Loaded:
    began = time.perf_counter()
    run_id, stored = _run_id(con, folder, night)
    known = {
        str(key)
        for (key,) in con.execute(
            "SELECT key FROM articles WHERE run_id = ? OR run_id IN "
            "(SELECT run_id FROM runs WHERE run_dir = ?)",
            [run_id, str(folder.path)],
        ).fetchall()
    }
    rows = read_rows(folder, known, story)
    complete, notes = _complete(folder, rows)
    started = _naive(folder.started_at)
    if stored is not None and stored[1] is not None and started is not None:
        started = min(started, stored[1])
    run_night = night or (stored[0] if stored else folder.started_at.astimezone().date())
    errors = len(rows.tables["errors"]["input"])
    old_tokens = (stored[2] or 0, stored[3] or 0, stored[4]) if stored else (0, 0, None)
    cost = old_tokens[2] if rows.cost_usd is None else (old_tokens[2] or 0.0) + rows.cost_usd
    con.execute("BEGIN TRANSACTION")
    try:
        constants = {"run_id": run_id, "night": run_night}
        for table in ("articles", "sentences", "findings", "unsupported", "stories"):
            _insert(con, table, rows.tables[table], constants)
        con.execute("DELETE FROM errors WHERE run_id = ?", [run_id])
        _insert(con, "errors", rows.tables["errors"], constants)
        if stored is not None and night is not None:
            con.execute("UPDATE articles SET night = ? WHERE run_id = ?", [night, run_id])
        (succeeded,) = con.execute(
            "SELECT count(*) FROM articles WHERE run_id = ?", [run_id]
        ).fetchone()
        values = {
            "run_dir": str(folder.path),
            "night": run_night,
            "started_at": started,
            "finished_at": _naive(folder.finished_at),
            "model": folder.model or rows.model,
            "fingerprint": folder.fingerprint,
            "inputs": folder.inputs,
            "succeeded": succeeded,
            "failed": errors,
            "prompt_tokens": old_tokens[0] + rows.prompt_tokens,
            "completion_tokens": old_tokens[1] + rows.completion_tokens,
            "cost_usd": cost,
            "complete": complete,
            "loaded_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        }
        if stored is None:
            names = ", ".join(["run_id", *values])
            marks = ", ".join("?" * (len(values) + 1))
            con.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", [run_id, *values.values()])
        else:
            kept = {"finished_at", "model", "fingerprint", "inputs"}  # unless known now
            sets = ", ".join(
                f"{name} = coalesce(?, {name})" if name in kept else f"{name} = ?"
                for name in values
            )
            con.execute(f"UPDATE runs SET {sets} WHERE run_id = ?", [*values.values(), run_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return Loaded(
        run_dir=folder.path,
        run_id=run_id,
        night=run_night,
        added=rows.added,
        already=rows.already,
        errors=errors,
        complete=complete,
        new_run=stored is None,
        notes=notes,
        seconds=round(time.perf_counter() - began, 3),
    )


def add_runs(
    db: DB,
    run_dirs: Iterable[str | os.PathLike[str]],
    *,
    night: date | None = None,
    story: str | None = None,
    wait: bool | float = False,
    on_wait: Callable[[Holder], None] | None = None,
) -> tuple[str | None, list[Loaded]]:
    """Load finished (or partly written) batch run folders into the history at ``db``,
    created if missing; returns what the schema step did (created, migrated, or None) and
    what each folder added. Every folder is checked before the database is touched; each
    loads in its own transaction, so loading one again adds nothing.

    ``night``: the date the runs count for (default: the local date each started);
    ``story``: the record field holding a story id (default: the one each run compared
    stories by, if any); ``wait``: False refuses at once when another process holds the
    database (``LockedError``), True waits as long as it takes, a number waits that long.
    """
    folders = [open_run(d) for d in run_dirs]
    with connect(db, write=True, wait=wait, on_wait=on_wait) as con:
        change = _prepared(con, db)
        try:
            return change, [_add(con, folder, night, story) for folder in folders]
        except _duckdb().Error as exc:  # a full disk, a damaged file: nothing of that run stays
            raise NewsauditError(f"{db}: loading failed, nothing of that run kept: {exc}") from exc


def _prepared(con: Any, db: DB) -> str | None:
    """The schema brought to this version (or refused) in one transaction; what it did."""
    con.execute("BEGIN TRANSACTION")
    try:
        change = schema.prepare(con, str(db))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return change


def migrate(db: DB, *, wait: bool | float = False) -> str | None:
    """Bring an existing history database to this newsaudit's schema version (or refuse);
    returns what it did (None: nothing to do)."""
    if not Path(db).is_file():
        raise InputError(f"{db}: no such history database (`newsaudit history add` makes one)")
    with connect(db, write=True, wait=wait) as con:
        return _prepared(con, db)


def tables(
    db: DB, names: Iterable[str] | None = None, *, wait: bool | float = True
) -> dict[str, pandas.DataFrame]:
    """The history's tables as pandas DataFrames, by name (default: every table but meta);
    runs ordered by night and start, articles by night, run and report line."""
    wanted = list(schema.DATA_TABLES if names is None else names)
    unknown = [name for name in wanted if name not in schema.DATA_TABLES]
    if unknown:
        raise InputError(
            f"no history table {', '.join(unknown)} (tables: {', '.join(schema.DATA_TABLES)})"
        )
    try:
        import pandas  # noqa: F401 - DuckDB's .df() needs it
    except ImportError as exc:
        raise NewsauditError(
            "history tables need pandas: pip install 'newsaudit[history]'"
        ) from exc
    with connect(db, wait=wait) as con:
        return {
            name: con.execute(
                f"SELECT * FROM {name}" + (f" ORDER BY {ORDER[name]}" if name in ORDER else "")
            ).df()
            for name in wanted
        }


def summary(db: DB, *, wait: bool | float = True) -> dict[str, Any]:
    """Schema version and row counts of the history, and its nights, for `history info`."""
    with connect(db, wait=wait) as con:
        counts = {
            name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in schema.DATA_TABLES
        }
        nights = con.execute(
            "SELECT min(night), max(night), count(DISTINCT night) FROM runs"
        ).fetchone()
        incomplete = con.execute("SELECT count(*) FROM runs WHERE NOT complete").fetchone()[0]
    return {
        "schema_version": schema.SCHEMA_VERSION,
        "rows": counts,
        "first_night": nights[0],
        "last_night": nights[1],
        "nights": nights[2],
        "incomplete_runs": incomplete,
    }


def export_parquet(
    db: DB, out_dir: str | os.PathLike[str], *, wait: bool | float = True
) -> dict[str, int]:
    """Write every table as Parquet files partitioned by night, ``OUT/<table>/night=<date>/``
    (a table without its own night column gets its run's); what was there is replaced.
    Returns the rows written per table."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    with connect(db, wait=wait) as con:
        for name in schema.DATA_TABLES:
            has_night = "night" in schema.columns(name)
            query = (
                f"SELECT * FROM {name}"
                if has_night
                else f"SELECT t.*, r.night FROM {name} t JOIN runs r USING (run_id)"
            )
            target = str(out / name).replace("'", "''")
            con.execute(
                f"COPY ({query}) TO '{target}' (FORMAT PARQUET, PARTITION_BY (night), OVERWRITE)"
            )
            written[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    return written
