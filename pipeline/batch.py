"""The nightly batch: many articles through the same per-article ``audit`` the CLI uses.

- Inputs: a JSONL file of article records, a directory of .txt/.html/.json/.jsonl files, or a
  glob. They are read lazily, one at a time, so a large input never sits in memory at once.
- Concurrency: a fixed pool of workers (``batch.concurrency`` articles in flight), a global
  requests/tokens-per-minute limiter shared by every call, and the adapter's tenacity backoff.
- Output (append-only, one line written whole per article as it finishes): ``reports.jsonl``
  and ``errors.jsonl``; ``summary.json`` at the end. A killed run loses only the articles in
  flight; a torn last line (a kill mid-write) is cut off when the next run opens the file.
- Resume: an article whose key (id, content hash, prompt hashes, run fingerprint) is already in
  ``reports.jsonl`` is skipped. Stage outputs are also cached (``pipeline.cache``).
"""

from __future__ import annotations

import asyncio
import glob
import hashlib
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.cache import CachedLLM, StageCache, digest, run_fingerprint
from pipeline.chunking import METRIC_COUNTS
from pipeline.config import Settings
from pipeline.errors import InputError, NewsauditError
from pipeline.ingest import RawDocument, decode, from_record, parse_document
from pipeline.llm import describe_failure
from pipeline.prompts import prompt_hash
from pipeline.ratelimit import RateLimiter
from pipeline.report import write_story
from pipeline.run import LLM_STAGES, audit, open_llm
from pipeline.stages import StructuredLLM
from pipeline.stages.story import compare_story
from schemas.report import ArticleReport, StageMetrics

REPORTS, ERRORS, SUMMARY = "reports.jsonl", "errors.jsonl", "summary.json"
PARQUET = "reports.parquet"
FILE_SUFFIXES = {".txt", ".text", ".html", ".htm", ".xhtml", ".json", ".jsonl", ".parquet"}
GLOB_CHARS = set("*?[")
ERROR_TYPES = {
    "InputError": "input_error",
    "ConfigError": "config_error",
    "ProviderError": "provider_error",
    "ValidationFailure": "validation_failure",
    "SetupError": "setup_error",
}


@dataclass(frozen=True)
class Item:
    """One input: a document to audit, or the input error that stopped it being read."""

    name: str
    doc: RawDocument | None = None
    error: InputError | None = None


# Inputs ---------------------------------------------------------------------------------------


def jsonl_item(raw: bytes, path: str, number: int) -> Item | None:
    """Line ``number`` of a JSONL file as an item (None for a blank line)."""
    name = f"{path}:{number}"
    if not raw.strip():
        return None
    try:
        record = json.loads(decode(raw, name))
        if not isinstance(record, dict):
            raise InputError(f"{name}: a JSONL line must be one object (an article record)")
    except json.JSONDecodeError as exc:
        return Item(name, error=InputError(f"{name}: invalid JSON: {exc.msg}"))
    except InputError as exc:
        return Item(name, error=exc)
    ident = record.get("id") or f"{Path(path).stem}-{number}"
    return record_item({"source": path, **record, "id": ident}, name)


def record_item(record: dict[str, Any], name: str) -> Item:
    """An article record (a Parquet row) as an item."""
    try:
        return Item(name, doc=from_record({"source": name, **record}, name))
    except InputError as exc:
        return Item(name, error=exc)


def _parquet_items(path: Path) -> Iterator[Item]:
    parquet = _pyarrow_parquet()
    number = 0
    for batch in parquet.ParquetFile(path).iter_batches():
        for record in batch.to_pylist():
            number += 1
            yield record_item(record, f"{path}:{number}")


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as parquet
    except ImportError as exc:
        raise NewsauditError("Parquet needs pyarrow: pip install 'newsaudit[parquet]'") from exc
    return parquet


def file_item(data: bytes, path: str) -> Item:
    """A whole .txt/.html/.json file as an item."""
    try:
        return Item(path, doc=parse_document(data, path))
    except InputError as exc:
        return Item(path, error=exc)


def _jsonl_items(path: Path) -> Iterator[Item]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            item = jsonl_item(raw, str(path), number)
            if item is not None:
                yield item


def _file_items(path: Path) -> Iterator[Item]:
    if path.suffix.lower() == ".jsonl":
        yield from _jsonl_items(path)
        return
    if path.suffix.lower() == ".parquet":
        yield from _parquet_items(path)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Item(str(path), error=InputError(f"{path}: unreadable: {exc.strerror}"))
        return
    yield file_item(data, str(path))


def _paths(location: str) -> list[Path]:
    if GLOB_CHARS & set(location):
        return sorted(Path(p) for p in glob.glob(location, recursive=True) if Path(p).is_file())
    path = Path(location)
    if path.is_dir():
        return sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FILE_SUFFIXES
        )
    if path.is_file():
        return [path]
    raise InputError(f"{location}: no such file, directory or matching glob")


def iter_inputs(location: str) -> Iterator[Item]:
    """Every article of an input location, lazily; unreadable ones come as error items."""
    for path in _paths(location):
        yield from _file_items(path)


def count_inputs(location: str) -> int:
    """How many items ``iter_inputs`` will yield (JSONL lines counted without parsing)."""
    total = 0
    for path in _paths(location):
        if path.suffix.lower() == ".jsonl":
            with path.open("rb") as handle:
                total += sum(1 for line in handle if line.strip())
        elif path.suffix.lower() == ".parquet":
            total += _pyarrow_parquet().ParquetFile(path).metadata.num_rows
        else:
            total += 1
    return total


def article_key(doc: RawDocument, fingerprint: dict[str, Any]) -> str:
    """What decides an article's report: its id and content, the prompts and the run."""
    return digest(
        {
            "id": doc.id,
            "kind": doc.kind,
            "content": hashlib.sha256(doc.content.encode("utf-8")).hexdigest(),
            "title": doc.title,
            "prompts": {stage: prompt_hash(stage) for stage in LLM_STAGES},
            "run": fingerprint,
        }
    )


# Output ---------------------------------------------------------------------------------------


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


def _keep_latest_errors(path: Path, done: set[str]) -> None:
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


Outcome = tuple[str, dict[str, Any]]  # ("report" | "error" | "skipped", record)


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
        "spent": _spent(getattr(exc, "spent", [])),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


async def process_item(
    item: Item,
    llm: StructuredLLM,
    settings: Settings,
    fingerprint: dict[str, Any],
    done: set[str],
) -> Outcome:
    """One input through ``audit``: the per-article step of every engine. Never raises."""
    if item.doc is None:
        return "error", error_record(item, None, item.error or InputError(f"{item.name}: ?"))
    key = article_key(item.doc, fingerprint)
    if key in done:
        return "skipped", {"key": key}
    done.add(key)  # a duplicate record later in the input is not run twice
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


def _spent(stages: list[StageMetrics]) -> dict[str, int]:
    """Calls, re-asks, retries and tokens a failed article used before it failed."""
    return {
        name: sum(getattr(s, name) for s in stages)
        for name in ("calls", "reasks", "transport_retries", "prompt_tokens", "completion_tokens")
    }


# The run --------------------------------------------------------------------------------------


@dataclass
class BatchStats:
    """Counts and figures of one run, shared with the progress display."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    in_flight: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    interrupted: bool = False
    stories: int = 0  # stories compared this run (--story)
    stories_failed: int = 0

    def add_report(self, report: dict[str, Any]) -> None:
        """Fold one finished article (its report as written to reports.jsonl) into the totals."""
        self.done += 1
        self.latencies.append(float(report["seconds_total"]))
        for metrics in report["stages"]:
            entry = self.stages.setdefault(
                metrics["stage"], {**dict.fromkeys(METRIC_COUNTS, 0), "cost_usd": None, "cached": 0}
            )
            for name in METRIC_COUNTS:
                entry[name] += metrics[name]
            entry["cached"] += int(metrics["cached"])
            if metrics["cost_usd"] is not None:
                entry["cost_usd"] = (entry["cost_usd"] or 0.0) + metrics["cost_usd"]
            self.prompt_tokens += metrics["prompt_tokens"]
            self.completion_tokens += metrics["completion_tokens"]


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    if len(values) == 1:
        return {"p50": values[0], "p90": values[0], "p99": values[0], "max": values[0]}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50": round(cuts[49], 3),
        "p90": round(cuts[89], 3),
        "p99": round(cuts[98], 3),
        "max": round(max(values), 3),
    }


@dataclass
class BatchRun:
    """One `newsaudit batch` run over an input location into an output directory."""

    settings: Settings
    source: str
    out_dir: Path
    fmt: str = "jsonl"
    cache_dir: Path | None = None
    engine: str = "local"  # or "ray" (pipeline.ray_engine)
    address: str | None = None  # --engine ray: the cluster to join; None starts a local one
    llm_factory: Callable[[Settings, RateLimiter], Any] = open_llm
    stats: BatchStats = field(default_factory=BatchStats)

    @property
    def remote(self) -> bool:
        """An object-store or other URL input, which only the Ray engine reads."""
        return "://" in self.source

    async def run(self, on_change: Callable[[BatchStats], None] = lambda _s: None) -> BatchStats:
        """Audit every input not already done; returns the run's figures."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        fingerprint = run_fingerprint(self.settings)
        self.stats = stats = BatchStats(total=0 if self.remote else count_inputs(self.source))
        reports = JsonLines(self.out_dir / REPORTS)
        done = {str(r["key"]) for r in reports.records() if "key" in r}
        _keep_latest_errors(self.out_dir / ERRORS, done)
        errors = JsonLines(self.out_dir / ERRORS)
        limits = self.settings.batch
        cache_dir = (self.cache_dir or self.out_dir / "cache") if limits.cache else None
        cached: CachedLLM | None = None
        try:
            if self.engine == "ray":
                await self._run_ray(done, cache_dir, reports, errors, on_change)
            else:
                limiter = RateLimiter(limits.requests_per_minute, limits.tokens_per_minute)
                loop = asyncio.get_running_loop()
                # Each article in flight holds at most one worker thread (the sync litellm call).
                loop.set_default_executor(ThreadPoolExecutor(max_workers=limits.concurrency + 2))
                with self.llm_factory(self.settings, limiter) as raw_llm:
                    llm: StructuredLLM = raw_llm
                    if cache_dir is not None:
                        llm = cached = CachedLLM(raw_llm, StageCache(cache_dir), self.settings)
                    items = iter_inputs(self.source)
                    workers = [
                        self._worker(items, llm, fingerprint, done, reports, errors, on_change)
                        for _ in range(limits.concurrency)
                    ]
                    await asyncio.gather(*workers)
        except asyncio.CancelledError:
            stats.interrupted = True
            raise
        finally:
            reports.close()
            errors.close()
            reported = {str(r.get("key")) for r in JsonLines(self.out_dir / REPORTS).records()}
            _keep_latest_errors(self.out_dir / ERRORS, reported)
            self._write_summary(fingerprint, cached, reports_in_file=len(reported))
            on_change(stats)
        if self.fmt == "parquet":
            write_parquet(self.out_dir / REPORTS, self.out_dir / PARQUET)
        if self.settings.batch.story_field:
            stats.stories, stats.stories_failed = await compare_stories(
                self.out_dir, self.settings, self.llm_factory
            )
        return stats

    async def _run_ray(
        self,
        done: set[str],
        cache_dir: Path | None,
        reports: JsonLines,
        errors: JsonLines,
        on_change: Callable[[BatchStats], None],
    ) -> None:
        from pipeline.ray_engine import audit_on_ray

        locations = [self.source] if self.remote else [str(p) for p in _paths(self.source)]
        outcomes = audit_on_ray(self.settings, locations, done, cache_dir, self.address)
        written = set(done)
        while True:
            # Ray blocks while it waits for results; the loop stays free for signals.
            outcome = await asyncio.to_thread(next, outcomes, None)
            if outcome is None:
                return
            kind, record = outcome
            if kind == "report":
                if record["key"] in written:
                    continue  # the same article in two actors' batches: keep the first
                written.add(str(record["key"]))
            self.record(outcome, reports, errors)
            on_change(self.stats)

    async def _worker(
        self,
        items: Iterator[Item],
        llm: StructuredLLM,
        fingerprint: dict[str, Any],
        done: set[str],
        reports: JsonLines,
        errors: JsonLines,
        on_change: Callable[[BatchStats], None],
    ) -> None:
        stats = self.stats
        for item in items:  # workers share one iterator: each item is taken exactly once
            stats.in_flight += 1
            on_change(stats)
            try:
                outcome = await process_item(item, llm, self.settings, fingerprint, done)
            finally:
                stats.in_flight -= 1
            self.record(outcome, reports, errors)
            on_change(stats)

    def record(self, outcome: Outcome, reports: JsonLines, errors: JsonLines) -> None:
        """Write one article's outcome (from either engine) and count it."""
        kind, record = outcome
        if kind == "skipped":
            self.stats.skipped += 1
        elif kind == "report":
            reports.append(record)
            self.stats.add_report(record["report"])
        else:
            errors.append(record)
            self.stats.failed += 1
            self.stats.failures[record["error_type"]] += 1

    def _write_summary(
        self, fingerprint: dict[str, Any], cached: CachedLLM | None, reports_in_file: int
    ) -> None:
        stats = self.stats
        elapsed = time.perf_counter() - stats.started
        total_cost = [s["cost_usd"] for s in stats.stages.values() if s["cost_usd"] is not None]
        summary = {
            "newsaudit_version": __version__,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "input": self.source,
            "interrupted": stats.interrupted,
            "model": self.settings.model,
            "provider": "llama.cpp (embedded)"
            if self.settings.embedded
            else self.settings.model.split("/")[0],
            "run_fingerprint": fingerprint,
            "prompt_hashes": {stage: prompt_hash(stage) for stage in LLM_STAGES},
            "engine": self.engine,
            "concurrency": self.settings.batch.concurrency,
            "requests_per_minute": self.settings.batch.requests_per_minute,
            "tokens_per_minute": self.settings.batch.tokens_per_minute,
            "counts": {
                "inputs": stats.total,
                "succeeded": stats.done,
                "skipped_already_done": stats.skipped,
                "failed": stats.failed,
                "failed_by_type": dict(stats.failures),
                "reports_in_file": reports_in_file,
            },
            "cache": None if cached is None else {"hits": cached.hits, "misses": cached.misses},
            "tokens": {
                "prompt": stats.prompt_tokens,
                "completion": stats.completion_tokens,
                "total": stats.prompt_tokens + stats.completion_tokens,
            },
            "cost_usd": round(sum(total_cost), 6) if total_cost else None,
            "stages": stats.stages,
            "seconds": round(elapsed, 3),
            "articles_per_minute": round(stats.done / elapsed * 60, 3) if elapsed > 0 else None,
            "article_seconds": _percentiles(stats.latencies),
        }
        tmp = self.out_dir / (SUMMARY + ".tmp")
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.out_dir / SUMMARY)


def write_parquet(jsonl: Path, target: Path) -> None:
    """Reports as Parquet: a few columns to query, and the whole report as JSON text."""
    try:
        import pyarrow as pa
    except ImportError as exc:
        raise NewsauditError(
            "--format parquet needs pyarrow: pip install 'newsaudit[parquet]'"
        ) from exc
    pq = _pyarrow_parquet()
    rows = list(_parquet_rows(JsonLines(jsonl).records()))
    table = pa.Table.from_pylist(rows, schema=_parquet_schema(pa))
    tmp = target.with_suffix(".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, target)


def _parquet_schema(pa: Any) -> Any:
    return pa.schema(
        [
            ("key", pa.string()),
            ("id", pa.string()),
            ("input", pa.string()),
            ("model", pa.string()),
            ("title", pa.string()),
            ("overall_slant", pa.string()),
            ("claims", pa.int32()),
            ("unsupported_claims", pa.int32()),
            ("bias_findings", pa.int32()),
            ("prompt_tokens", pa.int64()),
            ("completion_tokens", pa.int64()),
            ("seconds", pa.float64()),
            ("report_json", pa.string()),
        ]
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


# Stories --------------------------------------------------------------------------------------

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


async def compare_stories(
    out_dir: Path, settings: Settings, llm_factory: Callable[[Settings, RateLimiter], Any]
) -> tuple[int, int]:
    """Compare every story of the batch into OUT/stories/<id>/ (story.json, .md, .html).
    A story whose articles' reports are unchanged since its last comparison is skipped; one
    that fails leaves error.json in its folder and never costs the others.
    Returns (compared, failed)."""
    assert settings.batch.story_field
    todo = []
    for story, records in story_groups(out_dir, settings.batch.story_field).items():
        folder = story_folder(out_dir, story)
        keys = [str(r["key"]) for r in records]
        done = folder / "keys.json"
        if done.exists() and json.loads(done.read_text(encoding="utf-8")) == keys:
            continue
        todo.append((story, folder, keys, records))
    if not todo:
        return 0, 0
    compared = failed = 0
    limits = settings.batch
    with llm_factory(
        settings, RateLimiter(limits.requests_per_minute, limits.tokens_per_minute)
    ) as llm:
        for story, folder, keys, records in todo:
            folder.mkdir(parents=True, exist_ok=True)
            try:
                reports = [ArticleReport.model_validate(r["report"]) for r in records]
                result = await compare_story(reports, llm=llm, settings=settings.story)
            except Exception as exc:  # one story's failure never costs the others
                failed += 1
                error = {
                    "story": story,
                    "articles": [r["id"] for r in records],
                    "exception": type(exc).__name__,
                    "message": describe_failure(exc),
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                (folder / "error.json").write_text(json.dumps(error, indent=2) + "\n")
                continue
            write_story(folder, result)
            (folder / "keys.json").write_text(json.dumps(keys) + "\n")
            (folder / "error.json").unlink(missing_ok=True)
            compared += 1
    return compared, failed
