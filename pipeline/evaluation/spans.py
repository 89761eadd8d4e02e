"""`newsaudit eval --task spans`: sentences with gold character spans through a span tagger,
the tagged spans to a resumable JSONL file, span metrics over every sentence.

- Rows: JSONL ``{"id", "text", "spans": [[start, end], ...]}``; offsets are indices into
  ``text`` as a Python string (code points), end exclusive, ``0 <= start < end <= len(text)``;
  ``"spans": []`` is a sentence without gold spans. ``label`` may be given (a boolean, or
  null) and is not used; other fields are ignored.
- Scorer: an async callable given a chunk of rows, returning for each row its tagged spans as
  ``(start, end, probability)`` (``pipeline.evaluation.scorers`` holds the real one).
- Output: one ``{"id", "spans": [[start, end], ...], "scores": [p, ...]}`` line per row, every
  tagged span whatever its score, so the metrics can be taken again at another threshold
  without tagging again. Resumed as the other tasks are (``rows.append_predictions``).
- Metrics: ``pipeline.evaluation.span_metrics`` over every row, a predicted span kept when
  its score >= the threshold.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from pipeline.core.errors import ConfigError, InputError, NewsauditError
from pipeline.evaluation.rows import (
    Identified,
    NonEmpty,
    OnProgress,
    append_predictions,
    read_typed,
    saved_predictions,
    valid_probability,
)
from pipeline.evaluation.span_metrics import Span, SpanSummary, summarize_spans

Prediction = tuple[int, int, float]  # (start, end, probability)


class SpanRow(Identified):
    """A sentence and its gold spans (none: a sentence with nothing to tag)."""

    text: NonEmpty
    spans: tuple[tuple[int, int], ...]
    label: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _check_spans(cls, record: Any) -> Any:
        """Gold spans as [start, end] pairs of integers inside the text, as tuples."""
        if not isinstance(record, dict) or "spans" not in record:
            return record  # a missing field is reported by the field checks
        text, spans = record.get("text"), record["spans"]
        problem = span_list_problem(spans, len(text) if isinstance(text, str) else None)
        if problem is not None:
            message = f"field 'spans': {problem}"
            raise PydanticCustomError("spans", "{message}", {"message": message})
        return {**record, "spans": tuple((s, e) for s, e in spans)}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json(value: Any) -> str:
    """A value as JSON, cut to 60 characters, as the rows file has it."""
    return json.dumps(value, ensure_ascii=False, default=repr)[:60]


def span_list_problem(spans: Any, length: int | None) -> str | None:
    """What is wrong with a list of gold spans, as a phrase; None when nothing is. ``length``
    is that of the text (None when the text is not known: offsets are then not bounded)."""
    if not isinstance(spans, list):
        return f"must be a list of [start, end] pairs (got {_json(spans)})"
    for i, span in enumerate(spans):
        if not (isinstance(span, list) and len(span) == 2 and all(map(_is_int, span))):
            return f"spans[{i}] is not a [start, end] pair of integers (got {_json(span)})"
        start, end = span
        if start >= end:
            return f"spans[{i}] = [{start}, {end}] is empty or reversed (start must be < end)"
        if start < 0:
            return f"spans[{i}] = [{start}, {end}] starts before the text (start must be >= 0)"
        if length is not None and end > length:
            return (
                f"spans[{i}] = [{start}, {end}] ends after the text of {length} characters "
                f"(end must be <= {length})"
            )
    return None


SpanScorer = Callable[[list[SpanRow]], Awaitable[list[list[Prediction]]]]


def read_span_rows(path: Path, limit: int | None = None) -> list[SpanRow]:
    """Every row of a spans rows file (the first ``limit`` only, if given), validated."""
    return read_typed(path, SpanRow, limit)


# Predictions ----------------------------------------------------------------------------------


def valid_span_line(record: dict[str, Any]) -> bool:
    """A saved line of the spans task: spans a list of [start, end] int pairs (start >= 0,
    start < end) and scores one probability per span."""
    spans, scores = record.get("spans"), record.get("scores")
    return (
        isinstance(spans, list)
        and span_list_problem(spans, None) is None
        and isinstance(scores, list)
        and len(scores) == len(spans)
        and all(map(valid_probability, scores))
    )


def _prediction(item: Any, length: int) -> Prediction | None:
    """A tagged span as (start, end, probability) if it is one inside a text of ``length``."""
    if not (isinstance(item, tuple | list) and len(item) == 3):
        return None
    start, end, p = item
    if _is_int(start) and _is_int(end) and 0 <= start < end <= length and valid_probability(p):
        return start, end, float(p)
    return None


def check_tagged(tagged: list[list[Prediction]], rows: list[SpanRow]) -> list[list[Prediction]]:
    """The scorer's output, checked: for each row, spans inside its text with probabilities."""
    if not isinstance(tagged, list) or len(tagged) != len(rows):
        got = len(tagged) if isinstance(tagged, list) else type(tagged).__name__
        raise NewsauditError(f"the span scorer returned {got} results for {len(rows)} rows")
    checked = []
    for row, spans in zip(rows, tagged, strict=True):
        out: list[Prediction] = []
        for item in spans:
            prediction = _prediction(item, len(row.text))
            if prediction is None:
                raise NewsauditError(
                    f"the span scorer gave row {row.id!r} the span {item!r}, not "
                    f"(start, end, probability) with 0 <= start < end <= {len(row.text)} "
                    "and a probability in [0, 1]"
                )
            out.append(prediction)
        checked.append(out)
    return checked


async def predict_spans(
    rows: list[SpanRow],
    scorer: SpanScorer,
    out: Path,
    *,
    chunk_size: int = 8,
    progress: OnProgress = lambda _f, _s, _t: None,
) -> int:
    """Tag the rows not yet in ``out`` chunk by chunk, appending each chunk's lines as it
    comes; returns how many rows were tagged now. A scorer failure keeps the lines written."""

    async def lines_of(chunk: list[SpanRow]) -> list[dict[str, Any]]:
        tagged = check_tagged(await scorer(chunk), chunk)
        return [
            {"id": row.id, "spans": [[s, e] for s, e, _ in spans], "scores": [p for *_, p in spans]}
            for row, spans in zip(chunk, tagged, strict=True)
        ]

    return await append_predictions(
        rows, out, lines_of, valid=valid_span_line, chunk_size=chunk_size, progress=progress
    )


def kept(spans: Sequence[Sequence[int]], scores: Sequence[float], threshold: float) -> list[Span]:
    """The spans whose score is at least ``threshold``."""
    return [
        (int(span[0]), int(span[1]))
        for span, score in zip(spans, scores, strict=True)
        if score >= threshold
    ]


def summarize_span_file(
    rows: list[SpanRow], out: Path, threshold: float, n_boot: int = 1000, seed: int = 0
) -> SpanSummary:
    """The span metrics over every row, from the spans and scores saved in ``out``."""
    saved = saved_predictions(out, valid_span_line)
    missing = [row.id for row in rows if row.id not in saved]
    if missing:
        raise InputError(f"{out}: no prediction for {len(missing)} rows, e.g. {missing[0]!r}")
    predicted = [kept(saved[row.id]["spans"], saved[row.id]["scores"], threshold) for row in rows]
    gold = [list(row.spans) for row in rows]
    return summarize_spans(gold, predicted, threshold, n_boot=n_boot, seed=seed)


async def evaluate_spans(
    rows: list[SpanRow],
    scorer: SpanScorer,
    out: Path,
    *,
    threshold: float,
    chunk_size: int = 8,
    progress: OnProgress = lambda _f, _s, _t: None,
) -> SpanSummary:
    """Tag every row not yet in ``out``, then compute the span metrics over all the rows."""
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"threshold {threshold} is not in [0, 1]")
    await predict_spans(rows, scorer, out, chunk_size=chunk_size, progress=progress)
    return summarize_span_file(rows, out, threshold)
