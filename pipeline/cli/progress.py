"""Batch progress on stderr: a rich progress bar on a terminal, plain periodic lines for cron."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from pipeline.batch.stats import BatchStats


def _line(stats: BatchStats) -> str:
    finished = stats.done + stats.failed + stats.skipped
    return (
        f"{finished}/{stats.total} finished: {stats.done} done, {stats.failed} failed, "
        f"{stats.skipped} skipped (already done), {stats.in_flight} in flight, "
        f"{stats.prompt_tokens + stats.completion_tokens} tokens"
    )


class BatchProgress:
    """Call with the stats whenever they change; draws at most a few times a second."""

    def __init__(self, stream: TextIO = sys.stderr, every_s: float = 30.0) -> None:
        self.stream = stream
        self.every_s = every_s
        self.tty = stream.isatty()
        self._last = 0.0
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> BatchProgress:
        if self.tty:
            self._bar = Progress(
                TextColumn("newsaudit batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("batch", total=None, detail="")
        return self

    def __call__(self, stats: BatchStats) -> None:
        if self._bar is not None and self._task is not None:
            finished = stats.done + stats.failed + stats.skipped
            detail = (
                f"[green]{stats.done} done[/] [red]{stats.failed} failed[/] "
                f"{stats.skipped} skipped {stats.in_flight} in flight "
                f"{stats.prompt_tokens + stats.completion_tokens} tok"
            )
            self._bar.update(self._task, total=stats.total, completed=finished, detail=detail)
            return
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            print(f"newsaudit: batch: {_line(stats)}", file=self.stream, flush=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def final(self, stats: BatchStats) -> None:
        """The closing line, always printed."""
        print(f"newsaudit: batch: {_line(stats)}", file=self.stream, flush=True)
