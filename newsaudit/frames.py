"""Reports as a pandas DataFrame: one row per article or one per sentence (pandas is the
optional extra ``newsaudit[pandas]``, imported only here and only when called)."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import ValidationError

from pipeline.batch.outputs import REPORTS
from pipeline.core.errors import InputError, NewsauditError
from schemas.report import ArticleReport
from schemas.sentence import Sentence, SentenceLabel

if TYPE_CHECKING:
    import pandas

Level: TypeAlias = Literal["article", "sentence"]
Source: TypeAlias = str | os.PathLike[str]  # a report file, a reports.jsonl or a folder
Reports: TypeAlias = Source | Iterable[ArticleReport | Source]
Loaded: TypeAlias = tuple[ArticleReport, dict[str, str]]  # a report and its record's fields

ARTICLE_COLUMNS = [
    "id",
    "source",
    "title",
    "url",
    "published",
    "language",
    "model",
    "overall_slant",
    "sentences",
    *(f"n_{label.value}" for label in SentenceLabel),
    "unsupported",
    "unsupported_strong",
    "unsupported_share",
    "slant_score",
    "claims",
    "unsupported_claims",
    "bias_findings",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "seconds",
]
SENTENCE_COLUMNS = [
    "article_id",
    "source",
    "sentence_id",
    "paragraph",
    "start",
    "end",
    "label",
    "unsupported",
    "strength",
    "score",
    "text",
    "attribution_source",
    "attribution_named",
    "subjective",
    "checkworthy",
]


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise NewsauditError("reports_frame needs pandas: pip install 'newsaudit[pandas]'") from exc
    return pandas


def _validated(data: Any, name: str) -> ArticleReport:
    try:
        return ArticleReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "report"
        raise InputError(f"{name}: not an ArticleReport: {where}: {first['msg']}") from None


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"{name}: invalid JSON: {exc}") from None


def _jsonl(path: Path) -> Iterator[Loaded]:
    """A batch's reports.jsonl (lines ``{key, id, input, fields?, report}``), or one bare
    report a line; a torn last line (a batch still writing) is left out."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if not text.endswith("\n"):
        lines = lines[:-1]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = _json(line, f"{path}:{number}")
        if isinstance(record, dict) and "report" in record:
            report = _validated(record["report"], f"{path}:{number}")
            yield report, {str(k): str(v) for k, v in (record.get("fields") or {}).items()}
        else:
            yield _validated(record, f"{path}:{number}"), {}


def _from_path(path: Path) -> Iterator[Loaded]:
    if path.is_dir():
        if (path / REPORTS).is_file():
            yield from _jsonl(path / REPORTS)
            return
        files = sorted(path.glob("*.json"))
        if not files:
            raise InputError(f"{path}: no {REPORTS} and no .json reports in this folder")
        for file in files:
            yield from _from_path(file)
    elif not path.is_file():
        raise InputError(f"{path}: no such file or folder")
    elif path.suffix.lower() == ".jsonl":
        yield from _jsonl(path)
    else:
        yield _validated(_json(path.read_text(encoding="utf-8"), str(path)), str(path)), {}


def load_reports(reports: Reports) -> Iterator[Loaded]:
    """Reports with their record fields, from a path or an iterable of ``ArticleReport`` and
    paths (each read as ``reports_frame`` reads one path)."""
    if isinstance(reports, str | os.PathLike):
        yield from _from_path(Path(reports))
        return
    for number, item in enumerate(reports):
        if isinstance(item, ArticleReport):
            yield item, {}
        elif isinstance(item, str | os.PathLike):
            try:
                yield from _from_path(Path(item))
            except InputError as exc:
                raise InputError(f"reports[{number}]: {exc}") from None
        else:
            raise InputError(
                f"reports[{number}]: an ArticleReport, not {type(item).__name__}"
                " (or a path to a report file, a reports.jsonl or a folder of them)"
            )


def article_row(report: ArticleReport) -> dict[str, Any]:
    """One article's columns (see ``reports_frame``)."""
    counts = Counter(s.label for s in report.sentences)
    assertions = len(report.sentences) - counts[SentenceLabel.other]
    unsupported = sum(s.label.unsupported for s in report.sentences)
    totals, article = report.totals(), report.article
    return {
        "id": article.id,
        "source": article.source,
        "title": article.title,
        "url": article.url,
        "published": article.published,
        "language": article.language,
        "model": report.model,
        "overall_slant": report.bias.overall.value,
        "sentences": len(report.sentences),
        **{f"n_{label.value}": counts[label] for label in SentenceLabel},
        "unsupported": unsupported,
        "unsupported_strong": len(report.unsupported),
        "unsupported_share": unsupported / assertions if assertions else math.nan,
        "slant_score": report.bias.score,
        "claims": len(report.claims),
        "unsupported_claims": len(report.unsupported_claims),
        "bias_findings": len(report.bias.findings),
        "prompt_tokens": totals.prompt_tokens,
        "completion_tokens": totals.completion_tokens,
        "cost_usd": totals.cost_usd,
        "seconds": report.seconds_total,
    }


def sentence_row(report: ArticleReport, sentence: Sentence) -> dict[str, Any]:
    """One sentence's columns (see ``reports_frame``)."""
    attribution, signals = sentence.attribution, sentence.signals
    cited = attribution.source if attribution is not None else None
    return {
        "article_id": report.article.id,
        "source": report.article.source,
        "sentence_id": sentence.id,
        "paragraph": sentence.paragraph,
        "start": sentence.start,
        "end": sentence.end,
        "label": sentence.label.value,
        "unsupported": sentence.label.unsupported,
        "strength": sentence.strength,
        "score": sentence.score,
        "text": sentence.text,
        "attribution_source": cited.text if cited is not None else None,
        "attribution_named": attribution.named if attribution is not None else None,
        "subjective": signals.subjective if signals is not None else None,
        "checkworthy": signals.checkworthy if signals is not None else None,
    }


def _rows(loaded: Iterable[Loaded], level: Level) -> Iterator[dict[str, Any]]:
    for report, fields in loaded:
        rows = (
            [article_row(report)]
            if level == "article"
            else [sentence_row(report, s) for s in report.sentences]
        )
        for row in rows:
            # A record's own fields (an outlet, a story id) as columns; never over a report's.
            yield {**row, **{(f"field_{k}" if k in row else k): v for k, v in fields.items()}}


def reports_frame(reports: Reports, level: Level = "article") -> pandas.DataFrame:
    """Reports as a pandas DataFrame, one row per article (``level="article"``) or per body
    sentence (``level="sentence"``).

    ``reports``: a list of ``ArticleReport``, a batch's ``reports.jsonl`` (or its output
    folder), a folder of report .json files, or one report .json file; or a list of such
    paths (str or Path), reports and paths mixed. A batch record's extra fields (an
    ``outlet`` or ``story_id`` of the input records) become columns too.

    Article columns: id, source, title, url, published, language, model, overall_slant,
    sentences, ``n_<label>`` per sentence label, unsupported (unsupported assertions: the
    fact_unsupported, opinion, speculation and attributed_unnamed sentences),
    unsupported_strong (those the report lists, strength 0.5 or more), unsupported_share (of
    the sentences other than headings and fragments, label ``other``), slant_score, claims,
    unsupported_claims, bias_findings, prompt_tokens, completion_tokens, cost_usd, seconds.
    Sentence columns: article_id, source, sentence_id, paragraph, start, end (offsets in the
    cleaned body), label, unsupported, strength (of an unsupported assertion), score, text,
    attribution_source (who is cited, as the article names them), attribution_named,
    subjective (P(subjective wording)), checkworthy.

    Examples:
        >>> import newsaudit
        >>> articles = newsaudit.reports_frame("runs/nightly/reports.jsonl")
        >>> articles.groupby("source")["unsupported_share"].mean().round(2).to_dict()
        {'Daily Planet': 0.67, 'The Bugle': 0.67}
    """
    if level not in ("article", "sentence"):
        raise ValueError(f'level must be "article" or "sentence", not {level!r}')
    pd = _pandas()
    rows = list(_rows(load_reports(reports), level))
    base = ARTICLE_COLUMNS if level == "article" else SENTENCE_COLUMNS
    extra = [c for c in dict.fromkeys(k for row in rows for k in row) if c not in base]
    return pd.DataFrame(rows, columns=[*base, *extra])
