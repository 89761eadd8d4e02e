"""A batch's figures: counts as articles finish, and the summary.json written at the end."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.core.config import Settings
from pipeline.model.prompts import prompt_hash
from pipeline.run import PROMPTS
from pipeline.text.chunking import METRIC_COUNTS


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
    cache: Counter[str] | None = None  # stage cache hits and misses, when the cache is on
    worker_cpu_s: float = 0.0  # CPU seconds of worker processes or Ray actors, when any
    startup_s: float | None = None  # until the engine's workers or actors were ready
    stories: int = 0  # stories compared this run (--story)
    stories_failed: int = 0
    quarantined: int = 0  # unparseable reports.jsonl lines moved aside when this run started

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

    def mark_ready(self) -> None:
        """The engine's model clients are up: what came before was start-up."""
        if self.startup_s is None:
            self.startup_s = round(time.perf_counter() - self.started, 3)

    def count_cache(self, hits: int, misses: int) -> None:
        """Add one model client's stage-cache hits and misses."""
        self.cache = self.cache if self.cache is not None else Counter()
        self.cache.update(hits=hits, misses=misses)


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p90, p99 and max of a list of seconds (None when empty)."""
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


def _counts(stats: BatchStats, reports_in_file: int) -> dict[str, Any]:
    return {
        "inputs": stats.total,
        "succeeded": stats.done,
        "skipped_already_done": stats.skipped,
        "failed": stats.failed,
        "failed_by_type": dict(stats.failures),
        "reports_in_file": reports_in_file,
        "quarantined_lines": stats.quarantined,
    }


def summary(
    stats: BatchStats, settings: Settings, run: dict[str, Any], reports_in_file: int
) -> dict[str, Any]:
    """The summary.json of a run; ``run`` holds its input, engine, processes and fingerprint."""
    elapsed = time.perf_counter() - stats.started
    costs = [s["cost_usd"] for s in stats.stages.values() if s["cost_usd"] is not None]
    limits = settings.batch
    return {
        "newsaudit_version": __version__,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": run["input"],
        "interrupted": stats.interrupted,
        "model": settings.model,
        "provider": "llama.cpp (embedded)" if settings.embedded else settings.model.split("/")[0],
        "run_fingerprint": run["fingerprint"],
        "prompt_hashes": {name: prompt_hash(name) for name in PROMPTS},
        "engine": run["engine"],
        "processes": run["processes"],
        "concurrency": limits.concurrency,
        "requests_per_minute": limits.requests_per_minute,
        "tokens_per_minute": limits.tokens_per_minute,
        "counts": _counts(stats, reports_in_file),
        "cache": dict(stats.cache) if stats.cache is not None else None,
        "tokens": {
            "prompt": stats.prompt_tokens,
            "completion": stats.completion_tokens,
            "total": stats.prompt_tokens + stats.completion_tokens,
        },
        "cost_usd": round(sum(costs), 6) if costs else None,
        "stages": stats.stages,
        "seconds": round(elapsed, 3),
        "startup_seconds": stats.startup_s,
        "articles_per_minute": round(stats.done / elapsed * 60, 3) if elapsed > 0 else None,
        "article_seconds": percentiles(stats.latencies),
    }


def write_json(path: Path, value: dict[str, Any]) -> None:
    """Write a JSON file atomically (temporary file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
