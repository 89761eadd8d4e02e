"""Writing a batch's outputs and resuming from them.

``reports.jsonl`` and ``errors.jsonl`` are append-only, one line written whole per article as
it finishes, by one writer per run whatever the engine (and one run per folder: ``run.py``
holds its lock). A killed run loses only the articles in flight, and an article whose key is
already in ``reports.jsonl`` is skipped by the next run. A line of ``reports.jsonl`` that is
not a report record (a disk fault, a hand edit, or the torn last line of a kill mid-write) is
moved to ``reports.quarantine.jsonl`` with a note when the next run opens the file, so its
article is redone and every line left parses; in ``errors.jsonl`` (rewritten at each start)
and other JSONL files a torn last line is cut.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.batch.inputs import pyarrow_parquet
from pipeline.batch.stats import BatchStats
from pipeline.batch.step import Outcome
from pipeline.core.errors import NewsauditError
from schemas.report import ArticleReport

REPORTS, ERRORS, SUMMARY = "reports.jsonl", "errors.jsonl", "summary.json"
PARQUET = "reports.parquet"
QUARANTINE = "reports.quarantine.jsonl"


class JsonLines:
    """An append-only JSONL file; each record goes down in one write of one whole line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._repair()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _repair(self) -> None:
        """Cut a torn last line (a run killed mid-write), so every line stays valid JSON."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record in the file (unparseable lines are skipped)."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as one line."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        """Flush to disk and close."""
        os.fsync(self._fd)
        os.close(self._fd)


def _report_key(raw: bytes) -> tuple[str | None, str]:
    """The key of one reports.jsonl line, or None and why it is not a report record."""
    if not raw.strip():
        return None, "empty line"
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8: {exc.reason} at byte {exc.start}"
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(record, dict):
        return None, f"a JSON {type(record).__name__}, not an object"
    if not isinstance(record.get("key"), str) or not isinstance(record.get("report"), dict):
        return None, "a JSON object without a 'key' string and a 'report' object"
    return record["key"], ""


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def quarantine_reports(path: Path, target: Path) -> tuple[set[str], int]:
    """The keys of the reports in ``path`` (a reports.jsonl), after moving its lines that are
    not report records to ``target``: each appended there as ``{line, at, error, text}`` (its
    line number, when, why, and the line itself), then ``path`` rewritten without them (a
    temporary file, fsync, rename). A torn last line goes the same way. Returns the keys and
    how many lines moved."""
    if not path.exists():
        return set(), 0
    keys: set[str] = set()
    bad: dict[int, str] = {}
    unterminated = False
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            key, why = _report_key(raw)
            unterminated = not raw.endswith(b"\n")
            if key is None:
                torn = " (the torn last line of a run killed mid-write)" if unterminated else ""
                bad[number] = why + torn
            else:
                keys.add(key)
    if not bad and not unterminated:
        return keys, 0
    at = datetime.now(UTC).isoformat(timespec="seconds")
    tmp = path.with_name(path.name + ".tmp")
    with path.open("rb") as source, target.open("ab") as moved, tmp.open("wb") as kept:
        for number, raw in enumerate(source, 1):
            if number in bad:
                text = raw.rstrip(b"\n").decode("utf-8", errors="backslashreplace")
                note = {"line": number, "at": at, "error": bad[number], "text": text}
                moved.write(json.dumps(note, ensure_ascii=False).encode("utf-8") + b"\n")
            else:
                kept.write(raw if raw.endswith(b"\n") else raw + b"\n")
        moved.flush()
        os.fsync(moved.fileno())  # the lines are safe in quarantine before they leave
        kept.flush()
        os.fsync(kept.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return keys, len(bad)


def keep_latest_errors(path: Path, done: set[str]) -> None:
    """Rewrite errors.jsonl with the latest record of each article that still has no report."""
    if not path.exists():
        return
    latest: dict[str, dict[str, Any]] = {}
    for record in JsonLines(path).records():
        if record.get("key") not in done:
            latest[str(record.get("key") or record.get("input"))] = record
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in latest.values()),
        encoding="utf-8",
    )
    os.replace(tmp, path)


class Writer:
    """The one writer of a run's reports and errors; counts what it writes in ``stats``."""

    def __init__(
        self, out_dir: Path, stats: BatchStats, on_change: Callable[[BatchStats], None]
    ) -> None:
        self.out_dir = out_dir
        self.stats = stats
        self.on_change = on_change
        self.done, stats.quarantined = quarantine_reports(out_dir / REPORTS, out_dir / QUARANTINE)
        self.reports = JsonLines(out_dir / REPORTS)
        keep_latest_errors(out_dir / ERRORS, self.done)
        self.errors = JsonLines(out_dir / ERRORS)
        self._written = set(self.done)

    def record(self, outcome: Outcome) -> None:
        """Write one article's outcome (from any engine) and count it; a second report of the
        same article (two workers given the same input) is dropped: exactly once."""
        kind, record = outcome
        if kind == "skipped":
            self.stats.skipped += 1
        elif kind == "report":
            if record["key"] in self._written:
                return
            self._written.add(str(record["key"]))
            self.reports.append(record)
            self.stats.add_report(record["report"])
        else:
            self.errors.append(record)
            self.stats.failed += 1
            self.stats.failures[record["error_type"]] += 1
        self.on_change(self.stats)

    def close(self) -> int:
        """Close both files, keep only the errors of articles still without a report; returns
        how many reports the file holds."""
        self.reports.close()
        self.errors.close()
        reported = {str(r.get("key")) for r in JsonLines(self.out_dir / REPORTS).records()}
        keep_latest_errors(self.out_dir / ERRORS, reported)
        return len(reported)


def write_parquet(jsonl: Path, target: Path) -> None:
    """Reports as Parquet: a few columns to query, and the whole report as JSON text."""
    try:
        import pyarrow as pa
    except ImportError as exc:
        raise NewsauditError(
            "--format parquet needs pyarrow: pip install 'newsaudit[parquet]'"
        ) from exc
    rows = list(_parquet_rows(JsonLines(jsonl).records()))
    table = pa.Table.from_pylist(rows, schema=_parquet_schema(pa))
    tmp = target.with_suffix(".tmp")
    pyarrow_parquet().write_table(table, tmp)
    os.replace(tmp, target)


def _parquet_schema(pa: Any) -> Any:
    strings = ("key", "id", "input", "model", "title", "overall_slant")
    counts = ("claims", "unsupported_claims", "bias_findings")
    return pa.schema(
        [(name, pa.string()) for name in strings]
        + [(name, pa.int32()) for name in counts]
        + [("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64())]
        + [("seconds", pa.float64()), ("report_json", pa.string())]
    )


def _parquet_rows(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for record in records:
        report = ArticleReport.model_validate(record["report"])
        totals = report.totals()
        yield {
            "key": record["key"],
            "id": record["id"],
            "input": record.get("input"),
            "model": report.model,
            "title": report.article.title,
            "overall_slant": report.bias.overall.value,
            "claims": len(report.claims),
            "unsupported_claims": len(report.unsupported),
            "bias_findings": len(report.bias.findings),
            "prompt_tokens": totals.prompt_tokens,
            "completion_tokens": totals.completion_tokens,
            "seconds": report.seconds_total,
            "report_json": json.dumps(record["report"], ensure_ascii=False),
        }
