"""The nightly batch: many articles through the same per-article ``audit`` the CLI uses.

Modules, each importing only those listed before it:

- ``inputs``: reading JSONL records, whole files and Parquet rows, lazily;
- ``step``: the per-article step every engine runs (key, skip if done, audit, error record);
- ``stats``: counts as articles finish, and summary.json;
- ``outputs``: the one writer of reports.jsonl and errors.jsonl, resume, Parquet;
- the engines: ``local`` (one process); ``worker``, ``preload`` and ``processes`` (N worker
  processes); ``ray_engine`` (Ray actors);
- ``stories``: story comparisons after the articles;
- ``run``: ``BatchRun``, one run from inputs to summary, holding the lock on its output
  folder (``pipeline.core.lock``).
"""

from pipeline.batch.inputs import Item, count_inputs, iter_inputs
from pipeline.batch.outputs import ERRORS, PARQUET, QUARANTINE, REPORTS, SUMMARY, JsonLines
from pipeline.batch.run import BatchRun
from pipeline.batch.stats import BatchStats
from pipeline.batch.stories import story_folder

__all__ = [
    "ERRORS",
    "PARQUET",
    "QUARANTINE",
    "REPORTS",
    "SUMMARY",
    "BatchRun",
    "BatchStats",
    "Item",
    "JsonLines",
    "count_inputs",
    "iter_inputs",
    "story_folder",
]
