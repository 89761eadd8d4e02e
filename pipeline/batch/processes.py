"""The local engine over several processes, for more than one core's worth of calls.

This process stays the only reader of the inputs and the only writer of the outputs: it keys
each input, skips what is done, and hands the rest to N worker processes (``worker.py``), each
with a fixed share of the articles in flight; a worker gets its next article as soon as it
returns one. The workers draw on one rpm/tpm budget in shared memory, so the cap holds for the
run as a whole. Workers start from a fork server that has imported the pipeline once.

A worker that dies turns its articles in flight into ``internal_error`` records (the next run
retries them) and the others carry on. When this process is killed, the workers read EOF on
their sockets and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.batch import worker
from pipeline.batch.inputs import Item, iter_inputs
from pipeline.batch.outputs import Writer
from pipeline.batch.step import Job, admit, error_record
from pipeline.core.errors import NewsauditError
from pipeline.model.ratelimit import SharedBudget

# A clean, thread-free parent for every worker, with the imports done once (spawn where a
# platform has no fork server).
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


# The sentence judgments (the embedding model, the classifier) cost about 230 ms of CPU an
# article, so one process saturates its core at about 250 articles a minute; two processes
# already pay off at 8 in flight (README, "Measurements"). Below this many per process, more
# processes only cost start-up.
IN_FLIGHT_PER_PROCESS = 4


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def process_count(job: Job) -> int:
    """--processes; by default the cores, but at least ``IN_FLIGHT_PER_PROCESS`` articles in
    flight each; never more than the articles in flight; one for an embedded model (its
    server answers one request at a time)."""
    limits = job.settings.batch
    if job.settings.embedded:
        return 1
    wanted = limits.processes or min(cores(), -(-limits.concurrency // IN_FLIGHT_PER_PROCESS))
    return max(1, min(wanted, limits.concurrency))


def shares(total: int, parts: int) -> list[int]:
    """``total`` articles in flight split as evenly as can be between ``parts`` workers."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


@dataclass
class WorkerHandle:
    """One started worker: its process, its socket streams, what it has in hand."""

    process: Any
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    slots: asyncio.Semaphore
    in_hand: dict[str, Item] = field(default_factory=dict)

    def stop(self) -> None:
        """Kill the process if it still runs (an interrupted run), and reap it."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)


async def _start(context: Any, spec: worker.WorkerSpec, slots: int) -> WorkerHandle:
    ours, theirs = socket.socketpair()
    process = context.Process(target=worker.main, args=(theirs, spec), daemon=True)
    process.start()
    theirs.close()
    reader, writer = await asyncio.open_connection(sock=ours)
    return WorkerHandle(process, reader, writer, asyncio.Semaphore(slots))


class Dispatcher:
    """Feeds the workers from one input iterator and writes what they send back."""

    def __init__(self, job: Job, items: Iterator[Item], writer: Writer) -> None:
        self.job = job
        self.items = items
        self.writer = writer
        self.done = set(writer.done)
        self.exhausted = False
        self.waiting = 0  # workers not ready yet

    def _next(self) -> tuple[Item, str] | None:
        """The next input to audit; the others (input errors, done) are written here."""
        for item in self.items:
            admitted = admit(item, self.job.fingerprint, self.done)
            if isinstance(admitted, str):
                return item, admitted
            self.writer.record(admitted)
        self.exhausted = True
        return None

    async def feed(self, handle: WorkerHandle) -> None:
        """Give the worker an article whenever it has a free slot; then tell it to stop. (A
        worker that dies is noticed by ``collect``, which fails what it had in hand.)"""
        with contextlib.suppress(ConnectionError):
            while True:
                await handle.slots.acquire()
                taken = self._next()
                if taken is None:
                    break
                handle.in_hand[taken[1]] = taken[0]
                self.writer.stats.in_flight += 1
                await worker.send(handle.writer, taken)
            await worker.send(handle.writer, worker.STOP)

    def _returned(self, handle: WorkerHandle, outcome: tuple[str, dict[str, Any]]) -> None:
        handle.in_hand.pop(str(outcome[1].get("key")), None)
        self.writer.stats.in_flight -= 1
        handle.slots.release()
        self.writer.record(outcome)

    async def collect(self, handle: WorkerHandle, feeding: asyncio.Task[None]) -> None:
        """Write each outcome the worker returns; if it dies, fail what it had in hand."""
        while (message := await worker.receive(handle.reader)) is not None:
            if message[0] == worker.READY:
                self.waiting -= 1
                if not self.waiting:
                    self.writer.stats.mark_ready()
                continue
            if message[0] == worker.BYE:
                if message[1]["cache"] is not None:
                    self.writer.stats.count_cache(*message[1]["cache"])
                self.writer.stats.worker_cpu_s += message[1]["cpu_s"]
                return
            self._returned(handle, message)
        feeding.cancel()
        await asyncio.to_thread(handle.process.join, 10)  # for its exit code
        died = RuntimeError(f"worker process exited (code {handle.process.exitcode})")
        for key, item in list(handle.in_hand.items()):
            self._returned(handle, ("error", error_record(item, key, died)))

    async def run(self, handles: list[WorkerHandle]) -> None:
        """Until every input is written (or every worker is gone)."""
        tasks = []
        self.waiting = len(handles)
        for handle in handles:
            feeding = asyncio.create_task(self.feed(handle))
            tasks += [feeding, asyncio.create_task(self.collect(handle, feeding))]
        # A dead worker's feeding task ends cancelled and the others carry on; an error here
        # (a full disk) or this run's cancellation stops them all.
        try:
            finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
        for task in finished:
            if not task.cancelled() and (error := task.exception()) is not None:
                raise error
        if not self.exhausted:
            raise NewsauditError("every worker process exited; rerun to finish the batch")


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def share_the_cores(processes: int) -> None:
    """Each worker's numpy (the embedding model, the classifier) gets its share of the cores:
    two workers with a BLAS thread per core each would run four threads on two cores. Set in
    the environment the fork server starts with (it imports numpy afresh); a value the user
    set is kept."""
    for name in BLAS_THREADS:
        os.environ.setdefault(name, str(max(1, cores() // processes)))


async def run_processes(job: Job, source: str, writer: Writer, processes: int) -> None:
    """Audit every input of ``source`` not already done, in ``processes`` worker processes."""
    share_the_cores(processes)
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload(["pipeline.batch.preload"])
    limits = job.settings.batch
    budget = SharedBudget(limits.requests_per_minute, limits.tokens_per_minute, context)
    cache_dir = str(job.cache_dir) if job.cache_dir is not None else None
    spec = worker.WorkerSpec(job.settings.model_dump_json(), cache_dir, budget, job.llm_factory)
    handles: list[WorkerHandle] = []
    try:
        for slots in shares(limits.concurrency, processes):
            handles.append(await _start(context, spec, slots))
        await Dispatcher(job, iter_inputs(source), writer).run(handles)
    finally:
        for handle in handles:
            with contextlib.suppress(Exception):
                handle.writer.close()
            handle.stop()
