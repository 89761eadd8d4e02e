"""`newsaudit digest`: the morning-after page from the nightly history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import err, fail, night_of
from pipeline.core.errors import NewsauditError


def digest(
    db: Annotated[Path, typer.Option("--db", help="the history database (newsaudit history add)")],
    out: Annotated[Path, typer.Option("--out", help="output directory")],
    night: Annotated[
        str | None,
        typer.Option("--night", metavar="DATE", help="the night (default: the latest with a run)"),
    ] = None,
    days: Annotated[
        int, typer.Option("--days", min=1, help="days of trend, up to and including --night")
    ] = 30,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source", metavar="S", help="only this source (repeat, or comma-separate, for more)"
        ),
    ] = None,
) -> None:
    """Write the morning-after digest of a night from the history: digest.html (one
    self-contained page, charts inline), digest.md and digest.json, and the listed articles'
    reports under OUT/reports. Exit 2 for a missing database, an unknown source or a night
    with no run."""
    try:  # DuckDB and matplotlib (the `history` extra) load only for this command
        from pipeline.digest import build_digest
    except ImportError as exc:
        err(f"newsaudit: error: digest needs {exc.name}: pip install 'newsaudit[history]'")
        raise typer.Exit(1) from None
    sources = [s.strip() for value in source or [] for s in value.split(",") if s.strip()]
    try:
        result, written = build_digest(db, out, night=night_of(night), days=days, sources=sources)
    except NewsauditError as exc:
        raise fail(exc) from None
    for note in result.notes:
        err(f"newsaudit: digest: {note}")
    what = f"{result.articles} articles on {result.night}" if result.night else "no runs yet"
    err(
        f"newsaudit: digest: {what}; {written.html}, {written.markdown}, {written.json}"
        f" ({written.reports} reports under {out / 'reports'})"
    )


def register(app: typer.Typer) -> None:
    """Add `newsaudit digest` to the command line."""
    app.command()(digest)
