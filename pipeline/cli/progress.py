"""Progress on stderr for `newsaudit batch` and `newsaudit eval`: a rich progress bar on a
terminal, plain periodic lines for cron and logs."""

from __future__ import annotations

import math
import sys
import time
from types import TracebackType
from typing import Self, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pipeline.batch.stats import BatchStats


class StderrProgress:
    """A bar named ``newsaudit <command>`` on a terminal, else a line at most every
    ``every_s`` seconds (and whenever the caller forces one)."""

    command = ""
    extra_columns: tuple[ProgressColumn, ...] = ()

    def __init__(self, stream: TextIO | None = None, every_s: float = 30.0) -> None:
        # sys.stderr looked up now, not at import: it may have been replaced since (tests, CLI)
        self.stream = sys.stderr if stream is None else stream
        self.every_s = every_s
        self.tty = self.stream.isatty()
        self._last = -math.inf
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Self:
        if self.tty:
            self._bar = Progress(
                TextColumn(f"newsaudit {self.command}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                *self.extra_columns,
                console=Console(file=self.stream),
            )
            self._bar.start()
            self._task = self._bar.add_task(self.command, total=None, detail="")
        return self

    def show(self, completed: int, total: int, detail: str, line: str, force: bool = False) -> None:
        """The bar's state, or the plain ``line`` when its interval has passed (or ``force``)."""
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, total=total, completed=completed, detail=detail)
            return
        now = time.monotonic()
        if force or now - self._last >= self.every_s:
            self._last = now
            self.print(line)

    def print(self, line: str) -> None:
        print(f"newsaudit: {self.command}: {line}", file=self.stream, flush=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def _line(stats: BatchStats) -> str:
    finished = stats.done + stats.failed + stats.skipped
    return (
        f"{finished}/{stats.total} finished: {stats.done} done, {stats.failed} failed, "
        f"{stats.skipped} skipped (already done), {stats.in_flight} in flight, "
        f"{stats.prompt_tokens + stats.completion_tokens} tokens"
    )


class BatchProgress(StderrProgress):
    """Call with the stats whenever they change."""

    command = "batch"

    def __call__(self, stats: BatchStats) -> None:
        detail = (
            f"[green]{stats.done} done[/] [red]{stats.failed} failed[/] "
            f"{stats.skipped} skipped {stats.in_flight} in flight "
            f"{stats.prompt_tokens + stats.completion_tokens} tok"
        )
        self.show(stats.done + stats.failed + stats.skipped, stats.total, detail, _line(stats))

    def final(self, stats: BatchStats) -> None:
        """The closing line, always printed."""
        self.print(_line(stats))


class EvalProgress(StderrProgress):
    """Rows finished out of the total; the plain line also when the last row is scored."""

    command = "eval"
    extra_columns = (TimeRemainingColumn(),)

    def __call__(self, finished: int, skipped: int, total: int) -> None:
        detail = f"{skipped} already in the output" if skipped else ""
        line = f"{finished}/{total} rows scored ({skipped} already in the output)"
        self.show(finished, total, detail, line, force=finished == total)


class CalibrateProgress(StderrProgress):
    """Rows answered out of those to ask; the plain line also when the last is answered."""

    command = "calibrate"
    extra_columns = (TimeRemainingColumn(),)
    noun = "rows"

    def __call__(self, answered: int, cached: int, total: int) -> None:
        detail = f"{cached} cached" if cached else ""
        line = f"{answered + cached}/{total} {self.noun} answered ({cached} cached before)"
        self.show(answered + cached, total, detail, line, force=answered + cached == total)
