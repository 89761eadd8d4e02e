"""The batch on Ray: rows stream from Ray Data's readers through async actors.

Inputs are read by Ray's own readers (local paths or any filesystem Ray reads, such as
``s3://`` or ``gs://``): JSONL files are split into lines with their numbers, other files are
read whole, Parquet rows are article records. The driver keys each row and skips what is done,
as the local engine does, and hands each article to an ``AuditActor`` with a free slot: an
async actor holding one model client, running the same per-article step
(``step.audit_item``) on many articles at once. An actor takes its next article as soon as
one finishes (no block waits for its slowest row). The articles in flight (``-j``) and the
requests/tokens-per-minute budget are divided evenly between the actors. Outcomes come back
to the driver, which writes them with the local engine's writer, so reports, error records,
resume and the summary are the same.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.batch.cache import run_fingerprint
from pipeline.batch.inputs import Item, file_item, input_paths, jsonl_item, record_item
from pipeline.batch.outputs import Writer
from pipeline.batch.processes import shares
from pipeline.batch.step import Job, Outcome, admit, audit_item, error_record, open_step_llm
from pipeline.core.config import Settings
from pipeline.core.errors import ConfigError, NewsauditError
from pipeline.model.ratelimit import RateLimiter


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
    """An async Ray actor: one model client, the articles the driver sends, many at a time."""

    def __init__(self, settings_json: str, actors: int, cache_dir: str | None) -> None:
        settings = Settings.model_validate_json(settings_json)
        limits = settings.batch
        limiter = RateLimiter(
            limits.requests_per_minute / actors if limits.requests_per_minute else None,
            max(1, limits.tokens_per_minute // actors) if limits.tokens_per_minute else None,
        )
        job = Job(settings, run_fingerprint(settings), Path(cache_dir) if cache_dir else None)
        self._opened = open_step_llm(job, limiter)
        self.llm, self.cache = self._opened.__enter__()
        self.settings = settings
        self.cpu_at_start = time.process_time()

    async def ready(self) -> None:
        """Answers once the actor is constructed."""

    async def audit(self, item: Item, key: str) -> Outcome:
        """One admitted article through the per-article step (never raises)."""
        return await audit_item(item, key, self.llm, self.settings)

    async def figures(self) -> dict[str, Any]:
        """Stage-cache hits and misses (None when the cache is off), CPU seconds since start."""
        counts = (self.cache.hits, self.cache.misses) if self.cache is not None else None
        return {"cache": counts, "cpu_s": time.process_time() - self.cpu_at_start}


@dataclass
class _Actor:
    handle: Any
    slots: asyncio.Semaphore
    alive: bool = True


class RayDispatcher:
    """Feeds the actors from the streamed rows and writes what they return."""

    def __init__(self, job: Job, writer: Writer, actors: list[_Actor]) -> None:
        self.job = job
        self.writer = writer
        self.actors = actors
        self.done = set(writer.done)
        self.tasks: set[asyncio.Task[None]] = set()

    async def _run_one(self, actor: _Actor, item: Item, key: str) -> None:
        try:
            outcome = await actor.handle.audit.remote(item, key)
        except Exception as exc:  # the actor died (or Ray lost it): only this article fails
            actor.alive = False
            outcome = "error", error_record(item, key, exc)
        finally:
            actor.slots.release()
            self.writer.stats.in_flight -= 1
        self.writer.record(outcome)

    async def _free_actor(self) -> _Actor:
        """Wait for a slot on a live actor (each actor's own share of the articles in flight)."""
        while True:
            live = [a for a in self.actors if a.alive]
            if not live:
                raise NewsauditError("every Ray actor died; rerun to finish the batch")
            for actor in live:
                if not actor.slots.locked():
                    await actor.slots.acquire()
                    return actor
            await asyncio.wait(list(self.tasks), return_when=asyncio.FIRST_COMPLETED)

    async def submit(self, item: Item) -> None:
        """Write an input that needs no audit, or send it to an actor with a free slot."""
        admitted = admit(item, self.job.fingerprint, self.done)
        if not isinstance(admitted, str):
            self.writer.record(admitted)
            return
        actor = await self._free_actor()
        self.writer.stats.in_flight += 1
        task = asyncio.create_task(self._run_one(actor, item, admitted))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def finish(self) -> None:
        """Wait for the articles in flight, then count the actors' cache use."""
        await asyncio.gather(*self.tasks)
        for actor in (a for a in self.actors if a.alive):
            figures = await actor.handle.figures.remote()
            if figures["cache"] is not None:
                self.writer.stats.count_cache(*figures["cache"])
            self.writer.stats.worker_cpu_s += figures["cpu_s"]


def _start_actors(ray: Any, job: Job) -> list[_Actor]:
    limits = job.settings.batch
    remote = ray.remote(num_cpus=limits.ray_cpus_per_actor)(AuditActor)
    cache_dir = str(job.cache_dir) if job.cache_dir is not None else None
    settings_json = job.settings.model_dump_json()
    return [
        _Actor(remote.remote(settings_json, limits.ray_actors, cache_dir), asyncio.Semaphore(n))
        for n in shares(limits.concurrency, limits.ray_actors)
        if n > 0
    ]


def _mark_ready(started: asyncio.Future[Any], writer: Writer) -> None:
    """Start-up is over when every actor answered (a dead one fails its articles later)."""
    if not started.cancelled() and started.exception() is None:
        writer.stats.mark_ready()


def _rows(locations: list[str]) -> Iterator[dict[str, Any]]:
    return iter(read_inputs(locations).iter_rows())


async def run_ray(job: Job, source: str, writer: Writer, address: str | None) -> None:
    """Audit on Ray: rows stream from Ray's readers to the actors; outcomes to ``writer``."""
    if job.settings.embedded:
        raise ConfigError(
            "--engine ray needs a model server the actors can reach: set model and api_base "
            "(`newsaudit serve` prints them for the embedded model)"
        )
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    locations = [source] if "://" in source else [str(p) for p in input_paths(source)]
    actors = _start_actors(ray, job)
    dispatcher = RayDispatcher(job, writer, actors)
    ready = asyncio.gather(*(a.handle.ready.remote() for a in actors))
    ready.add_done_callback(lambda f: _mark_ready(f, writer))
    rows = _rows(locations)
    # Ray's reader blocks while it fetches a block; the event loop stays free meanwhile.
    while (row := await asyncio.to_thread(next, rows, None)) is not None:
        item = to_item(str(row["name"]), str(row["kind"]), bytes(row["data"]), int(row["number"]))
        if item is not None:
            await dispatcher.submit(item)
    await dispatcher.finish()
