"""The per-article step every engine runs: key an input, skip it if done, audit it, and turn
the result (or the failure) into the record the writer stores. It never raises."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.batch.cache import CachedLLM, StageCache, digest
from pipeline.batch.inputs import Item
from pipeline.core.config import Settings
from pipeline.core.errors import InputError
from pipeline.model.llm import describe_failure
from pipeline.model.prompts import prompt_hash
from pipeline.model.ratelimit import RateLimiter
from pipeline.run import PROMPTS, audit, open_llm
from pipeline.stages import StructuredLLM
from pipeline.text.ingest import RawDocument
from schemas.report import StageMetrics

ERROR_TYPES = {
    "InputError": "input_error",
    "ConfigError": "config_error",
    "ProviderError": "provider_error",
    "ValidationFailure": "validation_failure",
    "SetupError": "setup_error",
}
SPENT_FIELDS = ("calls", "reasks", "transport_retries", "prompt_tokens", "completion_tokens")

Outcome = tuple[str, dict[str, Any]]  # ("report" | "error" | "skipped", record)
LLMFactory = Callable[[Settings, RateLimiter], Any]


@dataclass(frozen=True)
class Job:
    """What every engine needs to run the step: the settings, the run's fingerprint, where the
    stage cache lives, and how to open the model."""

    settings: Settings
    fingerprint: dict[str, Any]
    cache_dir: Path | None = None
    llm_factory: LLMFactory = open_llm


@contextmanager
def open_step_llm(job: Job, limiter: RateLimiter) -> Iterator[tuple[StructuredLLM, Any]]:
    """The model for the step, behind the stage cache when there is one: (llm, cache or None)."""
    with job.llm_factory(job.settings, limiter) as raw:
        if job.cache_dir is None:
            yield raw, None
            return
        cached = CachedLLM(raw, StageCache(job.cache_dir), job.settings)
        yield cached, cached


def article_key(doc: RawDocument, fingerprint: dict[str, Any]) -> str:
    """What decides an article's report: its id and content, the prompts and the run."""
    return digest(
        {
            "id": doc.id,
            "kind": doc.kind,
            "content": hashlib.sha256(doc.content.encode("utf-8")).hexdigest(),
            "title": doc.title,
            "prompts": {name: prompt_hash(name) for name in PROMPTS},
            "run": fingerprint,
        }
    )


def spent(stages: list[StageMetrics]) -> dict[str, int]:
    """Calls, re-asks, retries and tokens a failed article used before it failed."""
    return {name: sum(getattr(s, name) for s in stages) for name in SPENT_FIELDS}


def error_record(item: Item, key: str | None, exc: BaseException) -> dict[str, Any]:
    """The errors.jsonl record of one failed article."""
    return {
        "key": key,
        "id": item.doc.id if item.doc else None,
        "input": item.name,
        "error_type": ERROR_TYPES.get(type(exc).__name__, "internal_error"),
        "message": describe_failure(exc if isinstance(exc, Exception) else Exception()),
        "exception": type(exc).__name__,
        "stage": getattr(exc, "stage", None),
        "spent": spent(getattr(exc, "spent", [])),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def admit(item: Item, fingerprint: dict[str, Any], done: set[str]) -> str | Outcome:
    """The key of an item to audit, or its outcome when there is nothing to audit (an input
    error, or a key already done). The key joins ``done``: a duplicate later is skipped."""
    if item.doc is None:
        return "error", error_record(item, None, item.error or InputError(f"{item.name}: ?"))
    key = article_key(item.doc, fingerprint)
    if key in done:
        return "skipped", {"key": key}
    done.add(key)
    return key


async def audit_item(item: Item, key: str, llm: StructuredLLM, settings: Settings) -> Outcome:
    """One admitted item through ``audit``; a failure becomes an error record."""
    assert item.doc is not None
    try:
        report = await audit(item.doc, llm=llm, settings=settings)
    except Exception as exc:  # one article's failure never costs the others
        return "error", error_record(item, key, exc)
    record = {
        "key": key,
        "id": item.doc.id,
        "input": item.name,
        **({"fields": item.doc.fields} if item.doc.fields else {}),
        "report": report.model_dump(mode="json"),
    }
    return "report", record


async def process_item(
    item: Item, llm: StructuredLLM, settings: Settings, fingerprint: dict[str, Any], done: set[str]
) -> Outcome:
    """Admit and audit one input: the whole per-article step. Never raises."""
    admitted = admit(item, fingerprint, done)
    if not isinstance(admitted, str):
        return admitted
    return await audit_item(item, admitted, llm, settings)
