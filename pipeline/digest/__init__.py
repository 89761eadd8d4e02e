"""`newsaudit digest`: the morning-after page from the nightly history (`newsaudit history`).

``queries`` reads each figure from the history's DuckDB tables, ``charts`` draws them as SVG,
``links`` writes the listed articles' reports beside the digest, and ``render`` writes the
digest as JSON, Markdown and one self-contained HTML page.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.digest.queries import Digest, collect, open_history
from pipeline.digest.render import Written, to_html, to_json, to_markdown, write_digest

__all__ = [
    "Digest",
    "Written",
    "build_digest",
    "collect",
    "open_history",
    "to_html",
    "to_json",
    "to_markdown",
    "write_digest",
]


def build_digest(
    db: Path,
    out: Path,
    *,
    night: date | None = None,
    days: int = 30,
    sources: list[str] | tuple[str, ...] = (),
    threads: int | None = None,
) -> tuple[Digest, Written]:
    """Read the figures for ``night`` (default: the latest night with a run) from the
    history ``db`` and write the digest to ``out``. InputError (exit code 2) for a missing or
    foreign or older database, an unknown source or a night with no run."""
    with open_history(db, threads=threads) as con:
        digest = collect(con, night=night, days=days, sources=sources, history=str(db))
    return digest, write_digest(digest, out, db)
