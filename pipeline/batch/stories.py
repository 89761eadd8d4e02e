"""After the articles: compare the stories that two or more reports of the batch share."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.batch.outputs import REPORTS, JsonLines
from pipeline.batch.step import LLMFactory
from pipeline.core.config import Settings
from pipeline.model.llm import describe_failure
from pipeline.model.ratelimit import RateLimiter
from pipeline.report import write_story
from pipeline.stages import StructuredLLM
from pipeline.stages.story import compare_story
from schemas.report import ArticleReport

STORIES = "stories"


def story_folder(out_dir: Path, story: str) -> Path:
    """OUT/stories/<story id>, the id made safe for a file name (with a hash if changed)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in story)[:80].strip("._")
    if safe != story:
        safe = f"{safe or 'story'}-{hashlib.sha256(story.encode()).hexdigest()[:8]}"
    return out_dir / STORIES / safe


def story_groups(out_dir: Path, story_field: str) -> dict[str, list[dict[str, Any]]]:
    """The reports of reports.jsonl by story id (the latest report per article id), for the
    stories that two or more articles share."""
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for record in JsonLines(out_dir / REPORTS).records():
        story = (record.get("fields") or {}).get(story_field)
        if story:
            groups.setdefault(str(story), {})[str(record["id"])] = record
    return {
        story: [by_id[i] for i in sorted(by_id)]
        for story, by_id in sorted(groups.items())
        if len(by_id) >= 2
    }


def _todo(out_dir: Path, story_field: str) -> list[tuple[str, Path, list[str], list[Any]]]:
    """The stories whose reports changed since their last comparison (or never compared)."""
    todo = []
    for story, records in story_groups(out_dir, story_field).items():
        folder = story_folder(out_dir, story)
        keys = [str(r["key"]) for r in records]
        done = folder / "keys.json"
        if done.exists() and json.loads(done.read_text(encoding="utf-8")) == keys:
            continue
        todo.append((story, folder, keys, records))
    return todo


async def _compare_one(
    story: str, folder: Path, keys: list[str], records: list[Any], llm: StructuredLLM, s: Settings
) -> bool:
    """Compare one story into its folder; a failure leaves error.json. True when it worked."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        reports = [ArticleReport.model_validate(r["report"]) for r in records]
        result = await compare_story(reports, llm=llm, settings=s.story)
    except Exception as exc:  # one story's failure never costs the others
        error = {
            "story": story,
            "articles": [r["id"] for r in records],
            "exception": type(exc).__name__,
            "message": describe_failure(exc),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (folder / "error.json").write_text(json.dumps(error, indent=2) + "\n")
        return False
    write_story(folder, result)
    (folder / "keys.json").write_text(json.dumps(keys) + "\n")
    (folder / "error.json").unlink(missing_ok=True)
    return True


async def compare_stories(
    out_dir: Path, settings: Settings, llm_factory: LLMFactory
) -> tuple[int, int]:
    """Compare every story of the batch into OUT/stories/<id>/ (story.json, .md, .html).
    A story whose articles' reports are unchanged since its last comparison is skipped; one
    that fails leaves error.json in its folder and never costs the others.
    Returns (compared, failed)."""
    assert settings.batch.story_field
    todo = _todo(out_dir, settings.batch.story_field)
    if not todo:
        return 0, 0
    limits = settings.batch
    results = []
    limiter = RateLimiter(limits.requests_per_minute, limits.tokens_per_minute)
    with llm_factory(settings, limiter) as llm:
        for story, folder, keys, records in todo:
            results.append(await _compare_one(story, folder, keys, records, llm, settings))
    return sum(results), len(results) - sum(results)
