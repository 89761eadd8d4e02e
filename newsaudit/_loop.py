"""An event loop of the Auditor's own, running in a daemon thread.

Model connections belong to the event loop that opened them, and a notebook already runs a
loop in its main thread (where ``asyncio.run`` is refused). So every call an Auditor makes
runs on this one loop, whichever thread or loop its caller is in.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def _cancel_all() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()


class LoopThread:
    """A private event loop in a daemon thread; ``run`` and ``arun`` hand it coroutines."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="newsaudit-loop", daemon=True
        )
        self._thread.start()

    @property
    def running(self) -> bool:
        """True until ``close``."""
        return not self.loop.is_closed()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it; an interrupt while waiting cancels it."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a newsaudit call from inside its own event loop would deadlock")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # KeyboardInterrupt in a notebook: stop the work, not just the wait
            raise

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` run on the loop; cancelling the awaiting task cancels it there."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        """Cancel whatever still runs, then stop the loop and its thread."""
        if not self.running:
            return
        self.run(_cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()
