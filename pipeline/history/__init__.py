"""The history: every night's batch run in one embedded DuckDB file, for trends and the
digest (`newsaudit history add`, ``newsaudit.history``).

Modules, each importing only those listed before it:

- ``schema``: the tables (the contract the digest reads), the schema version, migrating or
  refusing a file of another version;
- ``load``: reading a run folder (summary, the complete lines of reports.jsonl and
  errors.jsonl) into columns;
- ``store``: the database under its lock: loading runs in bulk, the tables as DataFrames,
  Parquet export.
"""

from pipeline.history.load import RunFolder, open_run
from pipeline.history.schema import DATA_TABLES, SCHEMA_VERSION, TABLES
from pipeline.history.store import (
    Loaded,
    add_runs,
    connect,
    export_parquet,
    lock_path,
    migrate,
    summary,
    tables,
)

__all__ = [
    "DATA_TABLES",
    "SCHEMA_VERSION",
    "TABLES",
    "Loaded",
    "RunFolder",
    "add_runs",
    "connect",
    "export_parquet",
    "lock_path",
    "migrate",
    "open_run",
    "summary",
    "tables",
]
