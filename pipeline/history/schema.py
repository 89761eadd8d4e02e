"""The history database's tables, its schema version, and migrating (or refusing) a file
written by another version.

Version 1 is the first. A file without the ``meta`` table but holding some of these tables,
or whose ``meta`` says version 0, is older: a writer migrates it by creating the tables and
adding the columns it lacks (a column whose type differs is refused, as is a file written by a
newer newsaudit). Readers never migrate: they refuse an older file and say how to migrate it.
"""

from __future__ import annotations

from typing import Any

from pipeline.core.errors import InputError

SCHEMA_VERSION = 1

# name -> (columns as (name, DuckDB type), primary key columns); the table contract.
TABLES: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "meta": ((("key", "VARCHAR"), ("value", "VARCHAR")), ("key",)),
    "runs": (
        (
            ("run_id", "VARCHAR"),
            ("run_dir", "VARCHAR"),
            ("night", "DATE"),
            ("started_at", "TIMESTAMP"),
            ("finished_at", "TIMESTAMP"),
            ("model", "VARCHAR"),
            ("fingerprint", "VARCHAR"),
            ("inputs", "INTEGER"),
            ("succeeded", "INTEGER"),
            ("failed", "INTEGER"),
            ("prompt_tokens", "BIGINT"),
            ("completion_tokens", "BIGINT"),
            ("cost_usd", "DOUBLE"),
            ("complete", "BOOLEAN"),
            ("loaded_at", "TIMESTAMP"),
        ),
        ("run_id",),
    ),
    "articles": (
        (
            ("run_id", "VARCHAR"),
            ("key", "VARCHAR"),
            ("article_id", "VARCHAR"),
            ("source", "VARCHAR"),
            ("url", "VARCHAR"),
            ("published", "VARCHAR"),
            ("title", "VARCHAR"),
            ("story", "VARCHAR"),
            ("night", "DATE"),
            ("slant_score", "DOUBLE"),
            ("slant", "VARCHAR"),
            ("sentences", "INTEGER"),
            ("words", "INTEGER"),
            ("unsupported_strong", "INTEGER"),
            ("unsupported_mild", "INTEGER"),
            ("findings", "INTEGER"),
            ("framing_words", "INTEGER"),
            ("framing_per_100_words", "DOUBLE"),
            ("report_line", "INTEGER"),
        ),
        ("run_id", "key"),
    ),
    "sentences": (
        (
            ("run_id", "VARCHAR"),
            ("key", "VARCHAR"),
            ("sentence", "INTEGER"),
            ("label", "VARCHAR"),
            ("score", "DOUBLE"),
            ("subjective", "DOUBLE"),
            ("strength", "DOUBLE"),
        ),
        (),
    ),
    "findings": (
        (
            ("run_id", "VARCHAR"),
            ("key", "VARCHAR"),
            ("kind", "VARCHAR"),
            ("words", "VARCHAR"),
            ("sentence", "INTEGER"),
            ("start_offset", "INTEGER"),
            ("end_offset", "INTEGER"),
            ("severity", "VARCHAR"),
            ("score", "DOUBLE"),
        ),
        (),
    ),
    "unsupported": (
        (
            ("run_id", "VARCHAR"),
            ("key", "VARCHAR"),
            ("sentence", "INTEGER"),
            ("strength", "DOUBLE"),
            ("strong", "BOOLEAN"),
            ("text", "VARCHAR"),
        ),
        (),
    ),
    "stories": (
        (("run_id", "VARCHAR"), ("story", "VARCHAR"), ("key", "VARCHAR"), ("source", "VARCHAR")),
        (),
    ),
    "errors": (
        (
            ("run_id", "VARCHAR"),
            ("input", "VARCHAR"),
            ("error_type", "VARCHAR"),
            ("message", "VARCHAR"),
        ),
        (),
    ),
}
DATA_TABLES = [name for name in TABLES if name != "meta"]  # what `history(db)` returns


def columns(table: str) -> list[str]:
    """The column names of a table, in order."""
    return [name for name, _type in TABLES[table][0]]


def ddl(table: str) -> str:
    """``CREATE TABLE`` for one table of the contract."""
    cols, key = TABLES[table]
    parts = [f"{name} {kind}" for name, kind in cols]
    if key:
        parts.append(f"PRIMARY KEY ({', '.join(key)})")
    return f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(parts)})"


def _existing(con: Any) -> dict[str, dict[str, str]]:
    """The main schema's tables with their columns and types, as the file holds them."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_catalog = current_database()"
    ).fetchall()
    found: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        found.setdefault(str(table), {})[str(column)] = str(kind).upper()
    return found


def stored_version(con: Any, db: str) -> int | None:
    """The file's schema version: None for an empty file, 0 for one from before ``meta``;
    refuses a file that holds none of the history's tables."""
    found = _existing(con)
    if not found:
        return None
    if "meta" not in found:
        if not set(found) & set(DATA_TABLES):
            raise InputError(
                f"{db}: not a newsaudit history database (its tables: {', '.join(sorted(found))})"
            )
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0]) if row else 0
    except ValueError:
        raise InputError(
            f"{db}: schema_version {row[0]!r} in its meta table is not a number"
        ) from None


def _listed(items: list[str], limit: int = 6) -> str:
    """``a, b, c`` (and how many more, past ``limit``)."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _refuse_newer(version: int, db: str) -> None:
    if version > SCHEMA_VERSION:
        raise InputError(
            f"{db}: history schema version {version} was written by a newer newsaudit (this "
            f"one knows version {SCHEMA_VERSION}): upgrade newsaudit, or use another --db"
        )


def prepare(con: Any, db: str) -> str | None:
    """Make the file hold schema version 1 (a writer's step, inside its transaction): create
    it when empty, migrate an older one, refuse a newer one. Returns what it did, if any."""
    version = stored_version(con, db)
    if version is not None:
        _refuse_newer(version, db)
    found = _existing(con)
    changes = []
    for table, (cols, _key) in TABLES.items():
        if table not in found:
            con.execute(ddl(table))
            changes.append(f"table {table}")
            continue
        for name, kind in cols:
            have = found[table].get(name)
            if have is None:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                changes.append(f"column {table}.{name}")
            elif have != kind:
                raise InputError(
                    f"{db}: cannot migrate: column {table}.{name} is {have}, schema version "
                    f"{SCHEMA_VERSION} wants {kind}; load into a new --db"
                )
    if version != SCHEMA_VERSION:
        con.execute("DELETE FROM meta WHERE key = 'schema_version'")
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    if version is None:
        return f"created (schema version {SCHEMA_VERSION})"
    if version < SCHEMA_VERSION or changes:
        added = f": added {_listed(changes)}" if changes else ""
        return f"migrated from schema version {version} to {SCHEMA_VERSION}{added}"
    return None


def check(con: Any, db: str) -> None:
    """A reader's check: the file holds schema version 1 with every table, or a clear refusal
    (an older file is migrated by ``newsaudit history migrate``, never by a reader)."""
    version = stored_version(con, db)
    if version is None:
        raise InputError(f"{db}: an empty database, not a newsaudit history yet")
    _refuse_newer(version, db)
    found = _existing(con)
    missing = [
        f"{table}.{name}" if table in found else table
        for table, (cols, _key) in TABLES.items()
        for name, _kind in (cols if table in found else cols[:1])
        if table not in found or name not in found[table]
    ]
    if version < SCHEMA_VERSION or missing:
        lacks = f", lacking {_listed(missing)}" if missing else ""
        raise InputError(
            f"{db}: history schema version {version}{lacks}; this newsaudit reads version "
            f"{SCHEMA_VERSION}: run `newsaudit history migrate --db {db}` first"
        )
