"""One writer at a time: an exclusive lock on a lock file, held for the life of a ``with``.

The lock is the operating system's (``flock``), so it dies with its process: a run killed
with SIGKILL never leaves a stale lock behind, and there is nothing to clean up by hand. The
holder writes its pid, host and start time into the lock file, so a process refused can say
who holds it. The file itself stays (it is empty when no one holds the lock): removing it on
release would let two processes lock two different files of the same name.

``exclusive`` is for synchronous code, ``exclusive_async`` for a coroutine (it waits with
``asyncio.sleep``, so a cancellation, such as the batch's SIGTERM handler, ends the wait).
``wait`` is False (refuse at once), True (wait as long as it takes) or a number of seconds.
Locks are advisory: only code that takes them is kept out. POSIX only (``fcntl``).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.core.errors import LockedError, NewsauditError

LOCK_NAME = ".newsaudit.lock"  # the lock file of a folder (a batch's --out)
POLL_S = 0.1  # how often a waiting process tries again


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its lock file says (None where it has not written it yet)."""

    pid: int | None = None
    host: str | None = None
    since: str | None = None  # ISO 8601, UTC

    def describe(self) -> str:
        """``pid 123 since 2025-01-01T02:00:00+00:00`` (and the host when it is another)."""
        if self.pid is None:
            return "another process (its pid is not written yet)"
        host = f" on {self.host}" if self.host and self.host != socket.gethostname() else ""
        return f"pid {self.pid}{host} since {self.since or 'an unknown time'}"


def read_holder(path: Path) -> Holder:
    """The holder a lock file names (an empty ``Holder`` if none, or it cannot be read)."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return Holder(int(info["pid"]), info.get("host"), info.get("since"))
    except (OSError, ValueError, TypeError, KeyError):
        return Holder()


class _Lock:
    """The steps both context managers share: open, try until taken or refused, release."""

    def __init__(
        self,
        path: Path,
        wait: bool | float,
        what: str | None,
        on_wait: Callable[[Holder], None] | None,
        poll_s: float,
    ) -> None:
        self.path = Path(path)
        self.what = what or str(path)
        self.timeout = None if wait is True else max(0.0, float(wait))  # False: 0.0
        self.on_wait = on_wait
        self.poll_s = poll_s
        self.held = False
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise NewsauditError(f"{self.what}: cannot open the lock file {path}: {exc}") from exc

    def _try(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:  # a filesystem without locks
            raise NewsauditError(f"{self.what}: cannot lock {self.path}: {exc}") from exc
        return True

    def waits(self) -> Iterator[float]:
        """Seconds to sleep before each next try, until the lock is taken; raises
        ``LockedError`` when refused (at once, or when the wait runs out)."""
        started = time.monotonic()
        told = False
        while not self._try():
            holder = read_holder(self.path)
            waited = time.monotonic() - started
            if self.timeout is not None and waited >= self.timeout:
                after = f", still after waiting {waited:.1f} s" if self.timeout else ""
                raise LockedError(
                    f"{self.what}: in use by {holder.describe()}{after} (lock file {self.path})",
                    path=str(self.path),
                    pid=holder.pid,
                    host=holder.host,
                    since=holder.since,
                    waited_s=round(waited, 3) if self.timeout else 0.0,
                )
            if not told and self.on_wait is not None:
                self.on_wait(holder)
            told = True
            left = self.poll_s if self.timeout is None else self.timeout - waited
            yield min(self.poll_s, left)

    def claim(self) -> Holder:
        """Write this process into the lock file, now that it holds the lock."""
        self.held = True
        since = datetime.now(UTC).isoformat(timespec="seconds")
        mine = Holder(os.getpid(), socket.gethostname(), since)
        line = json.dumps({"pid": mine.pid, "host": mine.host, "since": mine.since}) + "\n"
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, line.encode("utf-8"), 0)
        return mine

    def close(self) -> None:
        """Empty the lock file if this process held it, release it, close it."""
        try:
            if self.held:
                os.ftruncate(self.fd, 0)
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)


@contextmanager
def exclusive(
    path: Path,
    wait: bool | float = False,
    *,
    what: str | None = None,
    on_wait: Callable[[Holder], None] | None = None,
    poll_s: float = POLL_S,
) -> Iterator[Holder]:
    """Hold the lock on the lock file ``path`` (created if missing) for the ``with`` block.

    Refused at once with ``LockedError`` when another process holds it, unless ``wait``:
    True waits as long as it takes, a number waits that many seconds at most. ``on_wait`` is
    called once with the holder when the wait begins (to say so); ``what`` names what the
    lock guards in the error message (default: ``path``). Yields this process as holder.
    """
    lock = _Lock(path, wait, what, on_wait, poll_s)
    try:
        for delay in lock.waits():
            time.sleep(delay)
        yield lock.claim()
    finally:
        lock.close()


@asynccontextmanager
async def exclusive_async(
    path: Path,
    wait: bool | float = False,
    *,
    what: str | None = None,
    on_wait: Callable[[Holder], None] | None = None,
    poll_s: float = POLL_S,
) -> AsyncIterator[Holder]:
    """``exclusive`` for a coroutine: the event loop runs while it waits, and cancelling
    the task ends the wait."""
    lock = _Lock(path, wait, what, on_wait, poll_s)
    try:
        for delay in lock.waits():
            await asyncio.sleep(delay)
        yield lock.claim()
    finally:
        lock.close()
