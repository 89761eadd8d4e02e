"""The batch on Ray Data: the same per-article step (``process_item``) inside actors.

Inputs are read by Ray's own readers (local paths or any filesystem Ray reads, such as
``s3://`` or ``gs://``): JSONL files are split into lines with their numbers, other files are
read whole, Parquet rows are article records. ``map_batches`` runs ``AuditActor``, a callable
class holding one LLM client per actor; the global requests/tokens-per-minute budget is divided
evenly between the actors. Results stream back to the driver, which writes them with the local
engine's writer, so reports, error records, resume and the summary are the same.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.batch.inputs import Item, file_item, input_paths, jsonl_item, record_item
from pipeline.batch.outputs import Writer
from pipeline.batch.step import Job, Outcome, process_item
from pipeline.cache import CachedLLM, StageCache, run_fingerprint
from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.llm import LLM
from pipeline.ratelimit import RateLimiter
from pipeline.stages import StructuredLLM


def import_ray() -> Any:
    """The ray module, or a clear error naming the extra to install."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ConfigError("--engine ray needs Ray: pip install 'newsaudit[ray]'") from exc
    return ray


def _jsonl_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    lines = bytes(row["bytes"]).splitlines(keepends=True)
    return [
        {"name": row["path"], "kind": "line", "data": line, "number": number}
        for number, line in enumerate(lines, start=1)
    ]


def _file_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"name": row["path"], "kind": "file", "data": bytes(row["bytes"]), "number": 0}


def _record_row(row: dict[str, Any]) -> dict[str, Any]:
    data = json.dumps(row, default=str, ensure_ascii=False).encode("utf-8")
    return {"name": str(row.get("id") or ""), "kind": "record", "data": data, "number": 0}


def read_inputs(locations: list[str]) -> Any:
    """One dataset of raw inputs (name, kind, data, number) from files Ray can read."""
    ray = import_ray()
    jsonl = [p for p in locations if p.endswith(".jsonl")]
    parquet = [p for p in locations if p.endswith(".parquet")]
    files = [p for p in locations if p not in jsonl and p not in parquet]
    parts = []
    if jsonl:
        parts.append(ray.data.read_binary_files(jsonl, include_paths=True).flat_map(_jsonl_rows))
    if files:
        parts.append(ray.data.read_binary_files(files, include_paths=True).map(_file_row))
    if parquet:
        parts.append(ray.data.read_parquet(parquet).map(_record_row))
    if not parts:
        raise ConfigError("no inputs for the Ray engine")
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def to_item(name: str, kind: str, data: bytes, number: int) -> Item | None:
    """A raw input row as the local engine's Item (None for a blank JSONL line)."""
    if kind == "line":
        return jsonl_item(data, name, number)
    if kind == "record":
        return record_item(json.loads(data), name or "parquet record")
    return file_item(data, name)


class AuditActor:
    """One LLM client per actor; each call audits a batch of inputs concurrently."""

    def __init__(
        self, settings_json: str, done: list[str], actors: int, cache_dir: str | None
    ) -> None:
        settings = Settings.model_validate_json(settings_json)
        limits = settings.batch
        limiter = RateLimiter(
            limits.requests_per_minute / actors if limits.requests_per_minute else None,
            max(1, limits.tokens_per_minute // actors) if limits.tokens_per_minute else None,
        )
        llm: StructuredLLM = LLM(
            settings, model=settings.model, api_base=settings.api_base, limiter=limiter
        )
        if cache_dir is not None:
            llm = CachedLLM(llm, StageCache(Path(cache_dir)), settings)
        self.llm = llm
        self.settings = settings
        self.fingerprint = run_fingerprint(settings)
        self.done = set(done)
        self.loop = asyncio.new_event_loop()

    async def _audit(self, items: list[Item]) -> list[Outcome]:
        steps = (
            process_item(item, self.llm, self.settings, self.fingerprint, self.done)
            for item in items
        )
        return list(await asyncio.gather(*steps))

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        items = [
            to_item(str(name), str(kind), bytes(data), int(number))
            for name, kind, data, number in zip(
                batch["name"], batch["kind"], batch["data"], batch["number"], strict=True
            )
        ]
        outcomes = self.loop.run_until_complete(self._audit([i for i in items if i is not None]))
        return {
            "kind": [kind for kind, _ in outcomes],
            "record": [json.dumps(record, ensure_ascii=False) for _, record in outcomes],
        }


def audit_on_ray(
    settings: Settings,
    locations: list[str],
    done: set[str],
    cache_dir: Path | None,
    address: str | None,
) -> Iterator[Outcome]:
    """Start (or join) Ray and yield (kind, record) outcomes as the actors finish them."""
    if settings.embedded:
        raise ConfigError(
            "--engine ray needs a model server the actors can reach: set model and api_base "
            "(`newsaudit serve` prints them for the embedded model)"
        )
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    actors = settings.batch.ray_actors
    results = read_inputs(locations).map_batches(
        AuditActor,
        fn_constructor_kwargs={
            "settings_json": settings.model_dump_json(),
            "done": sorted(done),
            "actors": actors,
            "cache_dir": str(cache_dir) if cache_dir is not None else None,
        },
        batch_size=settings.batch.concurrency,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=settings.batch.ray_cpus_per_actor,
    )
    for row in results.iter_rows():
        yield str(row["kind"]), json.loads(row["record"])


async def run_ray(job: Job, source: str, writer: Writer, address: str | None) -> None:
    """Audit on Ray; the outcomes stream back to this process's writer."""
    locations = [source] if "://" in source else [str(p) for p in input_paths(source)]
    outcomes = audit_on_ray(job.settings, locations, set(writer.done), job.cache_dir, address)
    while True:
        # Ray blocks while it waits for results; the loop stays free for signals.
        outcome = await asyncio.to_thread(next, outcomes, None)
        if outcome is None:
            return
        writer.record(outcome)
