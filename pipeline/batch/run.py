"""One `newsaudit batch` run: lock the output folder, open the outputs, hand the inputs to
an engine, write the summary, then the optional Parquet file and story comparisons."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.batch.cache import run_fingerprint
from pipeline.batch.inputs import count_inputs
from pipeline.batch.local import run_local
from pipeline.batch.outputs import PARQUET, QUARANTINE, REPORTS, SUMMARY, Writer, write_parquet
from pipeline.batch.processes import process_count, run_processes
from pipeline.batch.stats import BatchStats, summary, write_json
from pipeline.batch.step import Job, LLMFactory
from pipeline.batch.stories import compare_stories
from pipeline.core.config import Settings
from pipeline.core.lock import LOCK_NAME, Holder, exclusive_async
from pipeline.run import open_llm


async def _run_ray(job: Job, source: str, writer: Writer, address: str | None) -> None:
    from .ray_engine import run_ray  # Ray is an optional extra: imported only when used

    await run_ray(job, source, writer, address)


@dataclass
class BatchRun:
    """One `newsaudit batch` run over an input location into an output directory.

    A run holds the lock on its output directory (``OUT/.newsaudit.lock``) from start to
    end: another run on the same directory is refused with ``LockedError``, or waits for it
    with ``wait`` (True, or at most that many seconds). ``notice`` gets the lines worth
    saying on the way (waiting for the lock, report lines moved to quarantine).
    """

    settings: Settings
    source: str
    out_dir: Path
    fmt: str = "jsonl"
    cache_dir: Path | None = None
    engine: str = "local"  # or "ray" (pipeline.batch.ray_engine)
    address: str | None = None  # --engine ray: the cluster to join; None starts a local one
    llm_factory: LLMFactory = open_llm
    wait: bool | float = False
    notice: Callable[[str], None] = lambda _m: None
    stats: BatchStats = field(default_factory=BatchStats)

    @property
    def remote(self) -> bool:
        """An object-store or other URL input, which only the Ray engine reads."""
        return "://" in self.source

    def _job(self) -> Job:
        cache = (self.cache_dir or self.out_dir / "cache") if self.settings.batch.cache else None
        fingerprint = run_fingerprint(self.settings)
        return Job(self.settings, fingerprint, cache, self.llm_factory)

    def processes(self, job: Job) -> int:
        """How many processes audit articles (the Ray engine's actors are counted apart)."""
        return 1 if self.engine == "ray" else process_count(job)

    async def _engine(self, job: Job, writer: Writer) -> None:
        if self.engine == "ray":
            await _run_ray(job, self.source, writer, self.address)
        elif (processes := self.processes(job)) > 1:
            await run_processes(job, self.source, writer, processes)
        else:
            await run_local(job, self.source, writer)

    def _waiting(self, holder: Holder) -> None:
        limit = "" if self.wait is True else f" (at most {float(self.wait):g} s)"
        self.notice(f"{self.out_dir} is in use by {holder.describe()}: waiting for it{limit}")

    async def run(self, on_change: Callable[[BatchStats], None] = lambda _s: None) -> BatchStats:
        """Audit every input not already done; returns the run's figures. Raises
        ``LockedError`` when another run holds the output directory (after ``wait``)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        lock = self.out_dir / LOCK_NAME
        async with exclusive_async(lock, self.wait, what=str(self.out_dir), on_wait=self._waiting):
            return await self._run(on_change)

    async def _run(self, on_change: Callable[[BatchStats], None]) -> BatchStats:
        job = self._job()
        self.stats = stats = BatchStats(total=0 if self.remote else count_inputs(self.source))
        writer = Writer(self.out_dir, stats, on_change)
        if stats.quarantined:
            self.notice(
                f"moved {stats.quarantined} unparseable line(s) of {self.out_dir / REPORTS} to "
                f"{self.out_dir / QUARANTINE}; their articles are redone"
            )
        try:
            await self._engine(job, writer)
        except asyncio.CancelledError:
            stats.interrupted = True
            raise
        finally:
            reports_in_file = writer.close()
            run = {"input": self.source, "engine": self.engine, "processes": self.processes(job)}
            run["fingerprint"] = job.fingerprint
            write_json(self.out_dir / SUMMARY, summary(stats, self.settings, run, reports_in_file))
            on_change(stats)
        if self.fmt == "parquet":
            write_parquet(self.out_dir / REPORTS, self.out_dir / PARQUET)
        if self.settings.batch.story_field:
            stats.stories, stats.stories_failed = await compare_stories(
                self.out_dir, self.settings, self.llm_factory
            )
        return stats
