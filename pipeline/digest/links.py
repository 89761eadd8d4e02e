"""The digest's links: each listed article's report, read from its run's reports.jsonl line and
written beside the digest as ``reports/<key>.md`` and ``.html`` (the report's own renderers),
and each story's comparison page when the batch wrote one."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from pathlib import Path

from pydantic import ValidationError

from pipeline.batch.stories import story_folder
from pipeline.digest.queries import ArticleRef, Digest
from pipeline.report import to_html, to_markdown
from schemas.report import ArticleReport

REPORTS_FILE = "reports.jsonl"
REPORTS_DIR = "reports"


def safe_name(key: str) -> str:
    """A report key as a file name (with a hash of the key when it had to change)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", key)[:100].strip("._")
    if safe != key:
        safe = f"{safe or 'report'}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    return safe


def _run_dir(run_dir: str | None, history: Path) -> Path | None:
    """The run's folder: as stored, or relative to the history's folder; None if neither."""
    if not run_dir:
        return None
    for candidate in (Path(run_dir), history.parent / run_dir):
        if candidate.is_dir():
            return candidate
    return None


def _read_lines(path: Path, wanted: dict[int, set[str]]) -> dict[str, dict[str, object]]:
    """The records on the wanted lines (numbered from 1, as the history's report_line; a line
    counts only if its key is the one wanted there), read up to the last wanted line."""
    found: dict[str, dict[str, object]] = {}
    last = max(wanted)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if number in wanted:
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if isinstance(record, dict) and record.get("key") in wanted[number]:
                    found[str(record["key"])] = record
            if number >= last:
                break
    return found


def write_reports(digest: Digest, out: Path, history: Path) -> int:
    """Write the report of every article the digest lists under ``out/reports`` and point the
    article at it; an article whose report line cannot be read links its run's reports.jsonl
    (when that exists). Returns the number of reports written."""
    refs = [*digest.slanted, *(a.article for a in digest.assertions)]
    by_dir: dict[Path, list[ArticleRef]] = defaultdict(list)
    for ref in refs:
        folder = _run_dir(ref.run_dir, history)
        if folder is not None and (folder / REPORTS_FILE).is_file():
            by_dir[folder].append(ref)
    written: dict[str, str] = {}
    sentences: dict[str, set[int]] = {}
    for folder, listed in by_dir.items():
        wanted: dict[int, set[str]] = defaultdict(set)
        for ref in listed:
            if ref.report_line is not None and ref.report_line > 0:
                wanted[ref.report_line].add(ref.key)
        records = _read_lines(folder / REPORTS_FILE, wanted) if wanted else {}
        for ref in listed:
            jsonl = os.path.relpath(folder / REPORTS_FILE, out)
            record = records.get(ref.key)
            if ref.key not in written and record is not None:
                try:
                    report = ArticleReport.model_validate(record.get("report"))
                except ValidationError:
                    report = None
                if report is not None:
                    name = f"{REPORTS_DIR}/{safe_name(ref.key)}"
                    (out / REPORTS_DIR).mkdir(parents=True, exist_ok=True)
                    (out / f"{name}.md").write_text(to_markdown(report), encoding="utf-8")
                    (out / f"{name}.html").write_text(to_html(report), encoding="utf-8")
                    written[ref.key] = name
                    sentences[ref.key] = {s.id for s in report.sentences}
            ref.report = written.get(ref.key)
            ref.jsonl = None if ref.report else jsonl
    for assertion in digest.assertions:
        if assertion.sentence in sentences.get(assertion.article.key, set()):
            assertion.anchor = f"s{assertion.sentence}"
    return len(written)


def link_stories(digest: Digest, out: Path, history: Path) -> None:
    """Point each listed story at the batch's comparison page (stories/<id>/story.html) when
    one of its runs wrote it."""
    if not digest.stories:
        return
    for story in digest.stories:
        for run_dir in story.run_dirs:
            folder = _run_dir(run_dir, history)
            page = story_folder(folder, story.story) / "story.html" if folder else None
            if page is not None and page.is_file():
                story.link = os.path.relpath(page, out)
                break
