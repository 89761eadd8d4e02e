"""The nightly history (`newsaudit history add`) as pandas DataFrames, for notebooks
(duckdb, pyarrow and pandas are the optional extra ``newsaudit[history]``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from pipeline.history import DATA_TABLES
from pipeline.history import tables as read_tables

if TYPE_CHECKING:
    import pandas


class History(Mapping[str, "pandas.DataFrame"]):
    """The history's tables by name (a read-only mapping), and as attributes: ``runs``,
    ``articles``, ``sentences``, ``findings``, ``unsupported``, ``stories``, ``errors``."""

    def __init__(self, frames: dict[str, pandas.DataFrame]) -> None:
        self._frames = frames

    def __getitem__(self, name: str) -> pandas.DataFrame:
        return self._frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def __getattr__(self, name: str) -> pandas.DataFrame:
        if name.startswith("_") or name not in self._frames:
            loaded = ", ".join(self._frames) or "none"
            raise AttributeError(f"no history table {name!r} loaded (tables: {loaded})")
        return self._frames[name]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}: {len(frame)} rows" for name, frame in self._frames.items())
        return f"History({sizes})"


def history(
    db: str | os.PathLike[str], tables: Iterable[str] | None = None, *, wait: bool = True
) -> History:
    """The nightly history database that `newsaudit history add` fills, as pandas DataFrames.

    ``db``: the DuckDB file. ``tables``: the tables to read (default all: ``runs``,
    ``articles``, ``sentences``, ``findings``, ``unsupported``, ``stories``, ``errors``);
    the sentences of many nights are many rows, so name the ones you need. ``wait``: while a
    `history add` writes the file, wait for it to finish (the default) or raise
    ``LockedError`` at once (False).

    Raises ``InputError`` naming the file when it does not exist, is not a history, or
    holds another schema version (an older one: run `newsaudit history migrate`).

    Examples:
        >>> import newsaudit
        >>> h = newsaudit.history("history.duckdb")
        >>> sorted(h.articles["source"]), h.runs["succeeded"].tolist()
        (['Daily Planet', 'The Bugle'], [2])
        >>> slant = h.articles.groupby(["night", "source"])["slant_score"].mean().unstack()
    """
    return History(read_tables(db, DATA_TABLES if tables is None else tables, wait=wait))
