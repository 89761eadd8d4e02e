"""Reading one batch run folder for the history: what its summary.json says about the run,
and the complete lines of reports.jsonl and errors.jsonl as columns for a bulk insert.

A folder still being written, or torn by a kill, is read as far as it is complete: a last
line without its newline (a write in progress, or cut by a kill) and a line that is not a
report record are skipped and named, and a run without summary.json is loaded as incomplete.
Plain Python reads the lines (``json`` per line), because each line's number (the digest's
link to the report), the torn tail and the articles already loaded are decided per line;
DuckDB then takes the columns in bulk (pipeline.history.store).
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.batch import ERRORS, REPORTS, SUMMARY, story_folder
from pipeline.batch.cache import digest
from pipeline.batch.stories import STORIES
from pipeline.core.errors import InputError
from pipeline.core.lock import LOCK_NAME, Holder, read_holder
from pipeline.history.schema import columns

# The batch writes each record with its key first: an article already loaded is passed over
# without parsing its line.
KEY_PREFIX = re.compile(rb'^\{"key":\s*"([^"\\]+)"')
INPUT_LINE = re.compile(r":\d+$")  # "feeds/a.jsonl:12" is line 12 of an input file
STORY_FIELDS = ("story_id", "story")  # guessed when the run compared no stories
MAX_NOTES = 5  # skipped lines named one by one, then counted

Columns = dict[str, list[Any]]


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (naive ones are taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _seconds(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _finding(key: str, finding: dict[str, Any]) -> tuple[Any, ...]:
    return (
        key,
        str(finding["kind"]),
        str(finding["quote"]),
        _int(finding.get("sentence")),
        _int(finding.get("start")),
        _int(finding.get("end")),
        str(finding["severity"]),
        _float(finding["score"]),
    )


def complete_lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) for each non-blank line of a JSONL file that may be being appended
    to. A last line without its newline is complete only when it is a whole JSON object (a
    write in progress or cut by a kill never is); a torn one comes as (number, None)."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                try:
                    whole = isinstance(json.loads(raw), dict)
                except ValueError:
                    whole = False
                yield number, (raw if whole else None)
                return
            if raw.strip():
                yield number, raw


@dataclass
class Notes:
    """What a load skipped, in words: the first few lines one by one, then a count each."""

    lines: list[str] = field(default_factory=list)
    more: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, number: int, why: str) -> None:
        """Note one skipped line of ``name``."""
        if sum(note.startswith(f"{name} ") for note in self.lines) < MAX_NOTES:
            self.lines.append(f"{name} line {number}: {why}")
        else:
            self.more[name] = self.more.get(name, 0) + 1

    def words(self) -> list[str]:
        """Every note, with the lines left unnamed counted."""
        return self.lines + [f"{name}: {n} more lines skipped" for name, n in self.more.items()]


TORN = "torn (cut off without its newline: a run still writing, or killed mid-write)"


@dataclass
class RunFolder:
    """A run folder as its summary.json (if any) and first lines describe it."""

    path: Path  # resolved
    summary: dict[str, Any] | None
    started_at: datetime  # UTC
    finished_at: datetime | None
    fingerprint: str | None  # the summary's run fingerprint as JSON text, sorted keys
    model: str | None
    inputs: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        """The run's id: a hash of its fingerprint, start time and input (stable across
        reloads, and when the folder moves)."""
        identity = {"fingerprint": self.fingerprint, "started": self.started_at.isoformat()}
        if self.summary is not None and self.summary.get("input") is not None:
            identity["input"] = str(self.summary["input"])  # two shards started together
        return digest(identity)[:16]


def _summary(path: Path, notes: list[str]) -> dict[str, Any] | None:
    file = path / SUMMARY
    if not file.exists():
        notes.append(f"no {SUMMARY}: the run is still being written, or was killed")
        return None
    try:
        summary = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        notes.append(f"{SUMMARY} unreadable ({exc}): the run is taken as incomplete")
        return None
    if not isinstance(summary, dict):
        notes.append(f"{SUMMARY} is not an object: the run is taken as incomplete")
        return None
    if summary.get("interrupted"):
        notes.append(f"{SUMMARY} says the run was interrupted: rerun the batch to finish it")
    return summary


def _first_report(path: Path) -> dict[str, Any] | None:
    """The report of reports.jsonl's first complete line (lines are only ever appended, and a
    batch removes only lines that no longer parse)."""
    for _number, raw in complete_lines(path / REPORTS):
        if raw is None:
            return None
        try:
            record = json.loads(raw)
            return record["report"] if isinstance(record["report"], dict) else None
        except (ValueError, KeyError, TypeError):
            return None
    return None


def _earliest_error(path: Path) -> datetime | None:
    times = []
    for _number, raw in complete_lines(path / ERRORS):
        try:
            times.append(_time(json.loads(raw or b"")["at"]))
        except (ValueError, KeyError, TypeError):
            continue
    return min((t for t in times if t is not None), default=None)


def _started(summary: dict[str, Any] | None, path: Path) -> datetime:
    """The summary's start (``started_at``, else ``finished_at`` less ``seconds``); without
    one, the first report's audit start, the first error, or the files' time."""
    if summary is not None:
        started = _time(summary.get("started_at"))
        finished = _time(summary.get("finished_at"))
        if started is None and finished is not None:
            started = finished - timedelta(seconds=_seconds(summary.get("seconds")))
        if started is not None:
            return started.replace(microsecond=0)
    first = _first_report(path)
    if first is not None and (created := _time(first.get("created_at"))) is not None:
        took = timedelta(seconds=_seconds(first.get("seconds_total")))
        return (created - took).replace(microsecond=0)
    if (error := _earliest_error(path)) is not None:
        return error
    files = (path / REPORTS, path / ERRORS, path / SUMMARY)
    mtime = min(p.stat().st_mtime for p in files if p.exists())  # open_run saw one
    return datetime.fromtimestamp(mtime, UTC).replace(microsecond=0)


def writer(path: Path) -> Holder | None:
    """The batch run writing to the folder now, as its lock file names it (the lock itself is
    left alone, so a batch starting meanwhile is never refused): a live process of this host.
    A run killed with SIGKILL leaves its name in the file; its process is gone."""
    holder = read_holder(path / LOCK_NAME)
    if holder.pid is None:
        return None
    if holder.host and holder.host != socket.gethostname():
        return holder  # another machine's process: taken as running
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return holder


def open_run(location: str | os.PathLike[str]) -> RunFolder:
    """A batch run folder, or InputError naming it: it must be a folder holding at least one
    of reports.jsonl, errors.jsonl and summary.json."""
    path = Path(location)
    if not path.is_dir():
        raise InputError(f"{location}: no such run folder")
    if not any((path / name).is_file() for name in (REPORTS, ERRORS, SUMMARY)):
        raise InputError(
            f"{location}: not a batch run folder (no {REPORTS}, {ERRORS} or {SUMMARY})"
        )
    notes: list[str] = []
    if (holder := writer(path)) is not None:
        notes.append(f"a batch run ({holder.describe()}) is writing to this folder now")
    summary = _summary(path, notes)
    first = _first_report(path) if summary is None else None
    fingerprint = summary.get("run_fingerprint") if summary else None
    counts = (summary or {}).get("counts") or {}
    return RunFolder(
        path=path.resolve(),
        summary=summary,
        started_at=_started(summary, path),
        finished_at=_time(summary.get("finished_at")) if summary else None,
        fingerprint=None if fingerprint is None else json.dumps(fingerprint, sort_keys=True),
        model=(summary or first or {}).get("model"),
        inputs=_int(counts.get("inputs")),
        notes=notes,
    )


def outlet(record: dict[str, Any], article: dict[str, Any]) -> str | None:
    """Where an article comes from: the record's source (an outlet), else the URL's host,
    else the input file's name."""
    fields = record.get("fields") or {}
    name = str(record.get("input") or "")
    input_file = INPUT_LINE.sub("", name)
    source = fields.get("source") or article.get("source")
    if source and source not in (name, input_file):
        return str(source)
    host = urlsplit(str(article.get("url") or "")).hostname
    if host:
        return host.removeprefix("www.")
    return Path(input_file).name or (str(source) if source else None)


@dataclass
class Rows:
    """The columns of each table for the articles a load adds, and what it counted."""

    tables: dict[str, Columns]
    fields: list[dict[str, Any]] = field(default_factory=list)  # each added article's fields
    lines: int = 0  # complete report lines in the file (added, already loaded or skipped)
    already: int = 0  # articles of the file already in the database
    prompt_tokens: int = 0  # of the added articles
    completion_tokens: int = 0
    cost_usd: float | None = None
    model: str | None = None  # the first added report's model
    notes: Notes = field(default_factory=Notes)

    @property
    def added(self) -> int:
        """How many articles the load adds."""
        return len(self.tables["articles"]["key"])


def _empty() -> dict[str, Columns]:
    return {
        table: {name: [] for name in columns(table) if name != "run_id"}
        for table in ("articles", "sentences", "findings", "unsupported", "errors")
    }


def _append(target: Columns, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    for values, column in zip(zip(*rows, strict=True), target.values(), strict=True):
        column.extend(values)


def _article(record: dict[str, Any], number: int, rows: Rows) -> None:
    """One report line into the columns: every value is read first, so a line that fails
    half-way adds nothing."""
    key = record["key"]
    if not isinstance(key, str) or not key:
        raise ValueError("no key")
    report = record["report"]
    article, bias = report["article"], report["bias"]
    mild = report.get("unsupported_mild") or []  # reports before it was added have none
    words = framing = 0
    sentences = []
    by_id = {}
    for s in report["sentences"]:
        signals = s.get("signals") or {}
        words += len(s["text"].split())
        framing += len(signals.get("framing") or ())
        sid = int(s["id"])
        by_id[sid] = s
        subjective, strength = _float(signals.get("subjective")), _float(s.get("strength"))
        sentences.append((key, sid, str(s["label"]), _float(s["score"]), subjective, strength))
    unsupported = [
        (key, int(n), _float(by_id[int(n)].get("strength")), strong, str(by_id[int(n)]["text"]))
        for strong, numbers in ((True, report["unsupported"]), (False, mild))
        for n in numbers
    ]
    findings = [_finding(key, f) for f in bias["findings"]]
    prompt = completion = 0
    cost: float | None = None
    for stage in report["stages"]:
        prompt += int(stage.get("prompt_tokens") or 0)
        completion += int(stage.get("completion_tokens") or 0)
        if stage.get("cost_usd") is not None:
            cost = (cost or 0.0) + float(stage["cost_usd"])
    summary = (
        key,
        str(record.get("id") or article.get("id")),
        outlet(record, article),
        _str(article.get("url")),
        _str(article.get("published")),
        _str(article.get("title")),
        None,  # story: set once the run's story field is known
        None,  # night: the run's
        _float(bias["score"]),
        str(bias["overall"]),
        len(sentences),
        words,
        len(report["unsupported"]),
        len(mild),
        len(findings),
        framing,
        round(100 * framing / words, 4) if words else None,
        number,
    )
    tables = rows.tables
    _append(tables["articles"], [summary])
    _append(tables["sentences"], sentences)
    _append(tables["findings"], findings)
    _append(tables["unsupported"], unsupported)
    rows.fields.append(dict(record.get("fields") or {}))
    rows.prompt_tokens += prompt
    rows.completion_tokens += completion
    if cost is not None:
        rows.cost_usd = (rows.cost_usd or 0.0) + cost
    rows.model = rows.model or _str(report.get("model"))


def _reports(folder: RunFolder, known: set[str], rows: Rows) -> None:
    read: set[str] = set()
    for number, raw in complete_lines(folder.path / REPORTS):
        if raw is None:
            rows.notes.add(REPORTS, number, TORN)
            break
        rows.lines += 1
        match = KEY_PREFIX.match(raw)
        if match and match.group(1).decode() in known:
            rows.already += 1
            continue
        try:
            record = json.loads(raw)
            key = record["key"]
            if key in known:
                rows.already += 1
            elif key in read:
                rows.notes.add(REPORTS, number, "a second line for an article already read")
            else:
                _article(record, number, rows)
                read.add(key)
        except ValueError as exc:
            rows.notes.add(REPORTS, number, f"not a report record ({exc})")
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            rows.notes.add(REPORTS, number, f"not a report record (missing or bad {exc})")


def _errors(folder: RunFolder, rows: Rows) -> None:
    errors = rows.tables["errors"]
    for number, raw in complete_lines(folder.path / ERRORS):
        if raw is None:
            rows.notes.add(ERRORS, number, TORN)
            break
        try:
            record = json.loads(raw)
            values = [record.get(name) for name in ("input", "error_type", "message")]
        except (ValueError, AttributeError) as exc:
            rows.notes.add(ERRORS, number, f"not an error record ({exc})")
            continue
        for column, value in zip(errors.values(), values, strict=True):
            column.append(None if value is None else str(value))


def story_field(folder: RunFolder, fields: list[dict[str, Any]]) -> str | None:
    """The record field the run grouped stories by: the one whose values name the folders
    under stories/, else a field called story_id or story."""
    names = {name for f in fields for name in f}
    stories = folder.path / STORIES
    if stories.is_dir() and names:
        made = {p.name for p in stories.iterdir() if p.is_dir()}
        hits = {
            name: len(
                {story_folder(folder.path, str(f[name])).name for f in fields if name in f} & made
            )
            for name in sorted(names)
        }
        best = max(hits, key=lambda name: hits[name])
        if hits[best]:
            return best
    return next((name for name in STORY_FIELDS if name in names), None)


def _stories(folder: RunFolder, rows: Rows, field_name: str | None) -> Columns:
    articles = rows.tables["articles"]
    found = field_name or story_field(folder, rows.fields)
    stories: Columns = {"story": [], "key": [], "source": []}
    if found is None:
        return stories
    for index, fields in enumerate(rows.fields):
        story = fields.get(found)
        if story is None or story == "":
            continue
        articles["story"][index] = str(story)
        stories["story"].append(str(story))
        stories["key"].append(articles["key"][index])
        stories["source"].append(articles["source"][index])
    return stories


def read_rows(folder: RunFolder, known: set[str], story: str | None = None) -> Rows:
    """The rows of the folder's articles whose keys are not in ``known`` (those already in the
    database), and of its errors; ``story``: the record field holding a story id (default:
    the one the run compared stories by, if any)."""
    rows = Rows(_empty())
    _reports(folder, known, rows)
    _errors(folder, rows)
    rows.tables["stories"] = _stories(folder, rows, story)
    return rows
