"""One worker process of the local engine: it audits the items its parent sends and sends one
message back per item. Messages are length-prefixed pickles over a socket pair.

The parent owns the inputs, the outputs and the decision of what to audit; a worker only runs
the per-article step (``step.audit_item``) with its own model client, drawing on the run's
shared rpm/tpm budget. When the parent goes away (killed), the worker's socket reads EOF and
it exits at once: nothing it could still finish would reach a file.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.batch.cache import run_fingerprint
from pipeline.batch.step import Job, LLMFactory, audit_item, open_step_llm
from pipeline.core.config import Settings
from pipeline.model.ratelimit import SharedBudget
from pipeline.stages import StructuredLLM

HEADER = struct.Struct("!I")
STOP = "stop"  # parent to worker: no more items; finish those in hand, then say goodbye
READY = "ready"  # worker to parent: (READY, None) once its model client is open
BYE = "bye"  # worker to parent: ("bye", {"cache": (hits, misses) or None, "cpu_s": seconds})


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process is started with (pickled once, at start)."""

    settings_json: str
    cache_dir: str | None
    budget: SharedBudget
    llm_factory: LLMFactory


async def send(writer: asyncio.StreamWriter, message: object) -> None:
    """Send one message (one write, so messages of concurrent senders never interleave)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(HEADER.pack(len(data)) + data)
    await writer.drain()


async def receive(reader: asyncio.StreamReader) -> Any:
    """The next message, or None when the other side has gone."""
    try:
        size = HEADER.unpack(await reader.readexactly(HEADER.size))[0]
        return pickle.loads(await reader.readexactly(size))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


def main(sock: socket.socket, spec: WorkerSpec) -> None:
    """Entry point of a worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    asyncio.run(_serve(sock, spec))


async def _audit_and_reply(
    message: tuple[Any, str], llm: StructuredLLM, settings: Settings, out: asyncio.StreamWriter
) -> None:
    item, key = message
    await send(out, await audit_item(item, key, llm, settings))


async def _serve(sock: socket.socket, spec: WorkerSpec) -> None:
    reader, out = await asyncio.open_connection(sock=sock)
    settings = Settings.model_validate_json(spec.settings_json)
    cache_dir = Path(spec.cache_dir) if spec.cache_dir else None
    job = Job(settings, run_fingerprint(settings), cache_dir, spec.llm_factory)
    tasks: set[asyncio.Task[None]] = set()
    with open_step_llm(job, spec.budget.limiter()) as (llm, cache):
        await send(out, (READY, None))
        while (message := await receive(reader)) != STOP:
            if message is None:
                os._exit(0)  # the parent is gone: no one to hand results to
            task = asyncio.create_task(_audit_and_reply(message, llm, settings, out))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        counts = (cache.hits, cache.misses) if cache is not None else None
        await send(out, (BYE, {"cache": counts, "cpu_s": time.process_time()}))
    out.close()
