"""`newsaudit eval`: labelled rows through a scorer, predictions to a resumable JSONL file.

- Rows: JSONL, one object per line; ``{"id", "text", "label"}`` for ``bias`` (label true = a
  slanted or subjective sentence) and ``{"id", "document", "claim", "label"}`` for
  ``faithfulness`` (label true = the document supports the claim). Other fields are ignored.
- Scorer: an async callable given a chunk of rows, returning one score in [0, 1] per row, the
  probability that its label is true (``pipeline.evaluation.scorers`` holds the real ones).
  Chunks are scored one after another; a scorer may work on the rows of its chunk concurrently.
- Output: one ``{"id", "score", "pred"}`` line per row, appended and flushed chunk by chunk.
  Rerunning skips the ids already there (a torn last line from a killed run is cut), so one
  output file belongs to one task and one model: use a new file for another model.
- Metrics: over every row of the input, from the scores in the output file.

The ``spans`` task (rows with character spans, not labels) reuses the reading and resume parts
here; its rows, runner and metrics are ``pipeline.evaluation.spans`` and ``span_metrics``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from pipeline.batch import JsonLines
from pipeline.core.errors import ConfigError, InputError, NewsauditError
from pipeline.evaluation.metrics import EvalSummary, summarize

NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class Identified(BaseModel):
    """A row of a rows file: a unique id; the fields its subclass names; others ignored."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    id: NonEmpty


class Row(Identified):
    """One labelled example; ``label`` true is the positive class of its task."""

    label: bool


class BiasRow(Row):
    """A sentence judged on its own: label true = slanted or subjective."""

    text: NonEmpty


class FaithfulnessRow(Row):
    """A claim and its source document: label true = the document supports the claim."""

    document: NonEmpty
    claim: NonEmpty


ROW_TYPES: dict[str, type[Row]] = {"bias": BiasRow, "faithfulness": FaithfulnessRow}
Scorer = Callable[[list[Row]], Awaitable[list[float]]]
OnProgress = Callable[[int, int, int], None]  # (finished, skipped, total)
R = TypeVar("R", bound=Identified)


# Reading the rows -----------------------------------------------------------------------------


def _problem(exc: ValidationError) -> str:
    """The first validation error of a row as a short phrase."""
    first = exc.errors()[0]
    if not first["loc"]:  # a check of the whole row: its message says what is wrong
        return str(first["msg"])
    field = ".".join(str(p) for p in first["loc"])
    if first["type"] == "missing":
        return f"missing field '{field}'"
    return f"field '{field}': {first['msg']} (got {first['input']!r:.60})"


def parse_row(raw: bytes, kind: type[R], where: str) -> R:
    """One JSONL line as a row of ``kind``; ``where`` (file:line) names it in errors."""
    try:
        record = json.loads(raw)
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON: {exc.msg}") from None
    if not isinstance(record, dict):
        raise InputError(f"{where}: a row must be a JSON object, not {type(record).__name__}")
    try:
        return kind.model_validate(record)
    except ValidationError as exc:
        raise InputError(f"{where}: {_problem(exc)}") from None


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        with path.open("rb") as handle:
            yield from enumerate(handle, start=1)
    except OSError as exc:
        raise InputError(f"{path}: unreadable: {exc.strerror}") from None


def read_rows(path: Path, task: str, limit: int | None = None) -> list[Row]:
    """Every row of a rows file (the first ``limit`` only, if given), validated for ``task``."""
    kind = ROW_TYPES.get(task)
    if kind is None:
        raise ConfigError(f"unknown task {task!r}; one of {', '.join(ROW_TYPES)}")
    return read_typed(path, kind, limit)


def read_typed(path: Path, kind: type[R], limit: int | None = None) -> list[R]:
    """Every row of a rows file as ``kind`` (the first ``limit`` only, if given): blank lines
    skipped, a duplicate id or a file without rows refused, file:line in every error."""
    rows: list[R] = []
    first_line: dict[str, int] = {}
    for number, raw in _lines(path):
        if limit is not None and len(rows) >= limit:
            break
        if not raw.strip():
            continue
        row = parse_row(raw, kind, f"{path}:{number}")
        if row.id in first_line:
            raise InputError(
                f"{path}:{number}: duplicate id {row.id!r} (first on line {first_line[row.id]})"
            )
        first_line[row.id] = number
        rows.append(row)
    if not rows:
        raise InputError(f"{path}: no rows (the file is empty or only blank lines)")
    return rows


# Predictions ----------------------------------------------------------------------------------


def valid_probability(value: Any) -> bool:
    """A finite number in [0, 1] (not a bool)."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and math.isfinite(value) and 0.0 <= value <= 1.0


def has_valid_score(record: dict[str, Any]) -> bool:
    """A prediction line of the labelled tasks: its score is a probability."""
    return valid_probability(record.get("score"))


def saved_predictions(
    out: Path, valid: Callable[[dict[str, Any]], bool] = has_valid_score
) -> dict[str, dict[str, Any]]:
    """The prediction line of each id in ``out`` (the first ``valid`` line counts; invalid or
    unparseable lines, such as a torn last line, are passed over)."""
    saved: dict[str, dict[str, Any]] = {}
    if not out.exists():
        return saved
    with out.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            ident = record.get("id") if isinstance(record, dict) else None
            if isinstance(ident, str) and ident not in saved and valid(record):
                saved[ident] = record
    return saved


def check_scores(scores: list[float], rows: list[Row]) -> list[float]:
    """The scorer's output, checked: one finite number in [0, 1] per row."""
    if len(scores) != len(rows):
        raise NewsauditError(f"the scorer returned {len(scores)} scores for {len(rows)} rows")
    for row, score in zip(rows, scores, strict=True):
        if not valid_probability(score):
            raise NewsauditError(
                f"the scorer gave row {row.id!r} the score {score!r}, not in [0, 1]"
            )
    return [float(s) for s in scores]


def chunks(rows: list[R], size: int) -> Iterator[list[R]]:
    """The rows in runs of ``size``; the last may be shorter."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def append_predictions(
    rows: list[R],
    out: Path,
    lines_of: Callable[[list[R]], Awaitable[list[dict[str, Any]]]],
    *,
    valid: Callable[[dict[str, Any]], bool] = has_valid_score,
    chunk_size: int = 8,
    progress: OnProgress = lambda _f, _s, _t: None,
) -> int:
    """The resumable loop of every task: the rows without a ``valid`` line in ``out`` go to
    ``lines_of`` chunk by chunk (it returns one output line per row, each with the row's id),
    each chunk's lines appended as they come; returns how many rows were done now. A failure
    keeps the lines written; a torn last line from a killed run is cut first."""
    if chunk_size < 1:
        raise ConfigError(f"chunk size must be at least 1, not {chunk_size}")
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = JsonLines(out)  # cuts a torn last line before anything is appended
    done = set(saved_predictions(out, valid))
    todo = [row for row in rows if row.id not in done]
    skipped, scored = len(rows) - len(todo), 0
    progress(skipped, skipped, len(rows))
    try:
        for chunk in chunks(todo, chunk_size):
            for record in await lines_of(chunk):
                lines.append(record)
            scored += len(chunk)
            progress(skipped + scored, skipped, len(rows))
    finally:
        lines.close()
    return scored


async def predict(
    rows: list[Row],
    scorer: Scorer,
    out: Path,
    *,
    threshold: float,
    chunk_size: int = 8,
    progress: OnProgress = lambda _f, _s, _t: None,
) -> int:
    """Score the rows not yet in ``out`` chunk by chunk, appending each chunk's lines as it
    comes; returns how many rows were scored now. A scorer failure keeps the lines written."""

    async def lines_of(chunk: list[Row]) -> list[dict[str, Any]]:
        scores = check_scores(await scorer(chunk), chunk)
        return [
            {"id": row.id, "score": score, "pred": score >= threshold}
            for row, score in zip(chunk, scores, strict=True)
        ]

    return await append_predictions(rows, out, lines_of, chunk_size=chunk_size, progress=progress)


def summarize_file(
    rows: list[Row],
    out: Path,
    task: str,
    threshold: float,
    log: Callable[[str], None] = lambda _m: None,
) -> EvalSummary:
    """The metrics over every row, from the scores saved in ``out``."""
    saved = saved_predictions(out)
    missing = [row.id for row in rows if row.id not in saved]
    if missing:
        raise InputError(f"{out}: no prediction for {len(missing)} rows, e.g. {missing[0]!r}")
    scores = [float(saved[row.id]["score"]) for row in rows]
    # A pred written under another threshold: the metrics go by the scores and this threshold.
    written = [saved[row.id].get("pred") for row in rows]
    stale = sum(
        p is not None and p != (s >= threshold) for p, s in zip(written, scores, strict=True)
    )
    if stale:
        log(
            f"{stale} predictions in {out} were made at another threshold; "
            f"the metrics use score >= {threshold:g}"
        )
    return summarize(task, [row.label for row in rows], scores, threshold)


async def evaluate(
    rows: list[Row],
    scorer: Scorer,
    out: Path,
    *,
    task: str,
    threshold: float,
    chunk_size: int = 8,
    progress: OnProgress = lambda _f, _s, _t: None,
    log: Callable[[str], None] = lambda _m: None,
) -> EvalSummary:
    """Predict every row not yet in ``out``, then compute the metrics over all the rows."""
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"threshold {threshold} is not in [0, 1]")
    await predict(rows, scorer, out, threshold=threshold, chunk_size=chunk_size, progress=progress)
    return summarize_file(rows, out, task, threshold, log)
