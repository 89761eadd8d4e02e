"""`newsaudit history`: every night's batch run in one embedded DuckDB file (add, info,
migrate, export), and `newsaudit batch --history`, which loads the run at its end."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import err, fail, night_of
from pipeline.core.errors import NewsauditError
from pipeline.core.lock import Holder
from pipeline.history import Loaded, add_runs, export_parquet, migrate, summary

history_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Every night's batch run in one embedded DuckDB file, for trends and the digest.",
)

DbOpt = Annotated[Path, typer.Option("--db", help="the history database (a DuckDB file)")]
HistoryOpt = Annotated[
    Path | None,
    typer.Option(
        "--history",
        metavar="DB",
        help="at the end, load the run into this history database (`newsaudit history add`)",
    ),
]
WaitOpt = Annotated[
    bool,
    typer.Option("--wait", help="wait for another process using the database, not refuse"),
]


def _waiting(holder: Holder) -> None:
    err(f"newsaudit: history: the database is in use by {holder.describe()}; waiting")


def _say(loaded: Loaded) -> None:
    state = "complete" if loaded.complete else "incomplete"
    already = f" ({loaded.already} already loaded)" if loaded.already else ""
    err(
        f"newsaudit: history: {loaded.run_dir}: run {loaded.run_id}, night {loaded.night} "
        f"({state}): {loaded.added} articles added{already}, {loaded.errors} errors "
        f"in {loaded.seconds:.1f} s"
    )
    for note in loaded.notes:
        err(f"newsaudit: history: {loaded.run_dir}: {note}")


def load_runs(
    db: Path,
    run_dirs: list[Path],
    night: date | None = None,
    story: str | None = None,
    wait: bool = False,
) -> list[Loaded]:
    """Load run folders into the history and say what each added and skipped."""
    change, results = add_runs(db, run_dirs, night=night, story=story, wait=wait, on_wait=_waiting)
    if change:
        err(f"newsaudit: history: {db}: {change}")
    for loaded in results:
        _say(loaded)
    return results


@history_app.command("add")
def add(
    run_dirs: Annotated[
        list[Path], typer.Argument(metavar="RUN_DIR", help="batch output folders (--out)")
    ],
    db: DbOpt,
    night: Annotated[
        str | None,
        typer.Option("--night", metavar="YYYY-MM-DD", help="the night the runs count for"),
    ] = None,
    story: Annotated[
        str | None,
        typer.Option(
            "--story",
            metavar="FIELD",
            help="record field holding a story id (default: the one the run compared by)",
        ),
    ] = None,
    wait: WaitOpt = False,
) -> None:
    """Load finished batch runs into the history database (created if missing).

    Loading a run again adds nothing; a run still being written, or torn by a kill, loads
    what is complete and says what it skipped. One `history add` at a time per database: a
    second is refused (exit 8), or waits with --wait.
    """
    when = night_of(night)
    try:
        load_runs(db, run_dirs, when, story, wait)
    except NewsauditError as exc:
        raise fail(exc) from None


@history_app.command("info")
def info(db: DbOpt) -> None:
    """Print the history's schema version, row counts and nights (JSON)."""
    try:
        figures = summary(db)
    except NewsauditError as exc:
        raise fail(exc) from None
    typer.echo(json.dumps(figures, indent=2, default=str))


@history_app.command("migrate")
def migrate_cmd(db: DbOpt, wait: WaitOpt = False) -> None:
    """Bring a history database written by an older newsaudit to this schema version."""
    try:
        change = migrate(db, wait=wait)
    except NewsauditError as exc:
        raise fail(exc) from None
    err(f"newsaudit: history: {db}: {change or 'already at this schema version'}")


@history_app.command("export")
def export(
    db: DbOpt,
    parquet: Annotated[
        Path, typer.Option("--parquet", metavar="DIR", help="write DIR/<table>/night=<date>/")
    ],
) -> None:
    """Write every table as Parquet files partitioned by night, for a warehouse."""
    try:
        written = export_parquet(db, parquet)
    except NewsauditError as exc:
        raise fail(exc) from None
    rows = ", ".join(f"{name} {count}" for name, count in written.items())
    err(f"newsaudit: history: exported to {parquet}: {rows}")


def after_batch(db: Path, out: Path, story: str | None) -> None:
    """`batch --history DB`: load the run just finished (waiting for the database if need be)."""
    try:
        load_runs(db, [out], story=story, wait=True)
    except NewsauditError as exc:
        err(f"newsaudit: batch: the run is done but was not loaded into {db}")
        raise fail(exc) from None


def register(app: typer.Typer) -> None:
    """Add `newsaudit history` to the command line."""
    app.add_typer(history_app, name="history")
