"""One run per output folder, and report lines that no longer parse: the lock on a batch's
--out (refused at once, --wait, released when its holder is killed), the lock on its own,
and the quarantine of unparseable reports.jsonl lines.

No sleeps race here: a run is held mid-way by the fake server's gate (it answers nothing
until the test opens it), and every wait on another process is for a line it prints or its
exit, with a bounded timeout."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
from typer.testing import CliRunner

from pipeline.batch import QUARANTINE, REPORTS, SUMMARY
from pipeline.batch.outputs import quarantine_reports
from pipeline.cli.main import app
from pipeline.core.errors import LockedError
from pipeline.core.lock import LOCK_NAME, Holder, exclusive, read_holder
from tests.batch_helpers import reports_in, write_jsonl
from tests.conftest import ROOT
from tests.fake_server import FakeServer, synthetic_records

EXIT_LOCKED = LockedError.exit_code
TOTAL = 3  # each article costs seconds of CPU (the sentence judgments)
TIMEOUT_S = 60  # the bound on every wait for another process; never reached when all is well
ENV = {**os.environ, "NEWSAUDIT_CONFIG": os.devnull}

HOLD_LOCK = """
import sys
from pathlib import Path
from pipeline.core.lock import exclusive
with exclusive(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()  # until the test says so (or kills this process)
print("released", flush=True)
"""


def _batch_args(source: Path, out: Path, server: FakeServer, *extra: str) -> list[str]:
    model = ["--model", "openai/fake-model", "--api-base", server.base_url]
    return ["batch", str(source), "--out", str(out), *model, "-j", "2", "--processes", "1", *extra]


def _spawn(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _batch(args: list[str]) -> subprocess.Popen[str]:
    return _spawn([sys.executable, "-m", "pipeline.cli", *args])


class Lines:
    """The lines a child process writes to one of its pipes, read in a thread, so a test can
    wait for one with a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            line = self._queue.get(timeout=left)
            if line is None:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {self.seen}")

    def rest(self) -> str:
        """Everything after the lines already seen, once the process has exited."""
        lines = []
        while (line := self._queue.get(timeout=TIMEOUT_S)) is not None:
            lines.append(line)
        self.seen += lines
        return "".join(self.seen)


@contextmanager
def gated(server: FakeServer) -> Iterator[None]:
    """The server takes requests but answers none until the block ends."""
    server.gate.clear()
    try:
        yield
    finally:
        server.gate.set()


@contextmanager
def held_in_another_process(path: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process holding the lock on ``path`` until its stdin gets a line."""
    child = _spawn([sys.executable, "-c", HOLD_LOCK, str(path)])
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == "held\n", child.stderr.read() if child.stderr else ""
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=TIMEOUT_S)


def _release(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


# The lock on its own.


def test_a_second_holder_is_refused_at_once_with_who_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb.lock"
    with held_in_another_process(path) as child:
        started = time.monotonic()
        with pytest.raises(LockedError) as refused, exclusive(path, what="history.duckdb"):
            pytest.fail("the lock is held elsewhere")
        assert time.monotonic() - started < 1.0
        error = refused.value
        assert error.exit_code == EXIT_LOCKED and error.pid == child.pid
        assert error.since is not None and error.waited_s == 0.0
        assert str(error).startswith(f"history.duckdb: in use by pid {child.pid} since ")
        assert read_holder(path).pid == child.pid  # the refused process wrote nothing
    # Free again once its holder let go; this process is the holder now, and empties the
    # file when it lets go.
    with exclusive(path) as me:
        assert me.pid == os.getpid() and read_holder(path) == me
    assert path.read_text() == "" and read_holder(path) == Holder()


def test_a_timed_wait_gives_up_after_its_seconds(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with held_in_another_process(path) as child:
        started = time.monotonic()
        with pytest.raises(LockedError) as refused, exclusive(path, 0.3, poll_s=0.05):
            pytest.fail("the lock is held elsewhere")
        waited = time.monotonic() - started
        assert 0.3 <= waited < 5
        assert refused.value.pid == child.pid and refused.value.waited_s >= 0.3
        assert "still after waiting 0.3 s" in str(refused.value)


def test_a_waiting_holder_gets_the_lock_when_the_other_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    told: list[Holder] = []
    with held_in_another_process(path) as child:

        def waiting(holder: Holder) -> None:  # told once, when the wait begins: let go now
            told.append(holder)
            _release(child)

        with exclusive(path, wait=True, on_wait=waiting, poll_s=0.02) as me:
            assert me.pid == os.getpid()
            assert child.wait(timeout=TIMEOUT_S) == 0
        assert [h.pid for h in told] == [child.pid]


def test_the_lock_of_a_killed_holder_is_free_at_once(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with held_in_another_process(path) as child:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=TIMEOUT_S)
        assert read_holder(path).pid == child.pid  # its note stays, but not its lock
        with exclusive(path) as me:
            assert read_holder(path) == me


# The lock on a batch's output folder.


def test_a_second_run_on_one_out_is_refused_and_a_waiting_one_finds_every_article_done(
    tmp_path: Path, server: FakeServer
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", synthetic_records(TOTAL))
    out = tmp_path / "out"
    with gated(server):
        first = _batch(_batch_args(source, out, server))
        assert server.arrived.wait(TIMEOUT_S), "the first run never called the model"
        # The first run holds the folder (it locks before it reads anything) and waits on the
        # gate: a second run is refused at once, naming the folder, the holder and since when.
        refused = CliRunner().invoke(app, _batch_args(source, out, server, "-q"))
        assert refused.exit_code == EXIT_LOCKED, refused.output
        (error,) = [line for line in refused.stderr.splitlines() if "error" in line]
        assert f"newsaudit: error: {out}: in use by pid {first.pid} since " in error
        assert "--wait" in refused.stderr
        # A third run waits, and says so.
        third = _batch(_batch_args(source, out, server, "--wait"))
        assert third.stderr is not None
        stderr = Lines(third.stderr)
        waiting = stderr.wait_for("waiting for it")
        assert f"{out} is in use by pid {first.pid} since " in waiting
    _, first_err = first.communicate(timeout=TIMEOUT_S)
    assert first.returncode == 0, first_err
    assert third.wait(timeout=TIMEOUT_S) == 0, stderr.rest()
    assert f"{TOTAL} skipped (already done)" in stderr.rest()
    # Every article reported exactly once, and the waiting run made no model call.
    reports = reports_in(out)
    assert sorted(r["id"] for r in reports) == sorted(f"syn-{i}" for i in range(TOTAL))
    counts = json.loads((out / SUMMARY).read_text())["counts"]
    assert counts["skipped_already_done"] == TOTAL and counts["succeeded"] == 0
    assert json.loads((out / SUMMARY).read_text())["tokens"]["total"] == 0


def test_a_timed_wait_on_a_busy_out_exits_with_the_lock_code(
    tmp_path: Path, server: FakeServer
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", synthetic_records(2))
    out = tmp_path / "out"
    out.mkdir()
    with held_in_another_process(out / LOCK_NAME) as child:
        args = _batch_args(source, out, server, "-q", "--wait-timeout", "0.2")
        result = CliRunner().invoke(app, args)
        assert result.exit_code == EXIT_LOCKED, result.output
        assert "waiting for it (at most 0.2 s)" in result.stderr
        assert f"in use by pid {child.pid} since " in result.stderr
        assert "still after waiting" in result.stderr
    assert not (out / REPORTS).exists() and not (out / SUMMARY).exists()


def test_a_killed_run_leaves_no_lock_and_the_next_run_finishes_the_batch(
    tmp_path: Path, server: FakeServer
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", synthetic_records(TOTAL))
    out = tmp_path / "out"
    with gated(server):
        first = _batch(_batch_args(source, out, server))
        assert server.arrived.wait(TIMEOUT_S), "the first run never called the model"
        assert read_holder(out / LOCK_NAME).pid == first.pid
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=TIMEOUT_S)
    result = CliRunner().invoke(app, _batch_args(source, out, server, "-q"))
    assert result.exit_code == 0, result.output
    assert sorted(r["id"] for r in reports_in(out)) == sorted(f"syn-{i}" for i in range(TOTAL))


# Quarantine of report lines that no longer parse.


def _lines(out: Path) -> list[str]:
    return (out / REPORTS).read_text(encoding="utf-8").splitlines()


def test_an_unparseable_middle_line_is_quarantined_and_its_article_redone(
    tmp_path: Path, server: FakeServer
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", synthetic_records(TOTAL))
    out = tmp_path / "out"
    args = _batch_args(source, out, server, "-q")
    assert CliRunner().invoke(app, args).exit_code == 0
    lines = _lines(out)
    lost = json.loads(lines[1])["id"]
    garbage = lines[1][: len(lines[1]) // 2]  # a line cut short in the middle of the file
    lines[1] = garbage
    (out / REPORTS).write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    expected = (
        f"newsaudit: batch: moved 1 unparseable line(s) of {out / REPORTS} to "
        f"{out / QUARANTINE}; their articles are redone"
    )
    assert expected in result.stderr
    # Every line parses now, and every article is there exactly once.
    records = [json.loads(line) for line in _lines(out)]
    assert sorted(r["id"] for r in records) == sorted(f"syn-{i}" for i in range(TOTAL))
    assert records[-1]["id"] == lost  # redone, and appended
    (note,) = [json.loads(line) for line in (out / QUARANTINE).read_text().splitlines()]
    assert note["line"] == 2 and note["text"] == garbage and note["at"]
    assert note["error"].startswith("invalid JSON: ")
    counts = json.loads((out / SUMMARY).read_text())["counts"]
    assert counts["quarantined_lines"] == 1 and counts["succeeded"] == 1
    assert counts["skipped_already_done"] == TOTAL - 1 and counts["reports_in_file"] == TOTAL


def test_quarantine_notes_why_each_line_failed_and_keeps_every_report(tmp_path: Path) -> None:
    path, target = tmp_path / REPORTS, tmp_path / QUARANTINE
    good = [json.dumps({"key": k, "id": k, "report": {}}) for k in "abc"]
    path.write_bytes(
        b"\n".join(
            [
                good[0].encode(),
                b"",  # an empty line
                b"\xff\xfe not text",  # not UTF-8
                b'["a", "list"]',
                b'{"id": "no key"}',
                good[1].encode(),
                good[2].encode(),  # complete, but the file lacks its final newline
            ]
        )
    )
    keys, moved = quarantine_reports(path, target)
    assert keys == {"a", "b", "c"} and moved == 4
    assert path.read_text() == "".join(line + "\n" for line in good)
    notes = [json.loads(line) for line in target.read_text().splitlines()]
    assert [n["line"] for n in notes] == [2, 3, 4, 5]
    assert [n["error"].split(":")[0] for n in notes[:2]] == ["empty line", "not UTF-8"]
    assert notes[1]["text"] == "\\xff\\xfe not text"
    assert "not an object" in notes[2]["error"] and "'key'" in notes[3]["error"]
    assert not path.with_name(path.name + ".tmp").exists()
    # A clean file is left as it is, and nothing more is quarantined.
    before = path.stat().st_mtime_ns
    assert quarantine_reports(path, target) == ({"a", "b", "c"}, 0)
    assert path.stat().st_mtime_ns == before and len(target.read_text().splitlines()) == 4


def test_a_torn_last_line_is_quarantined_as_torn(tmp_path: Path) -> None:
    path, target = tmp_path / REPORTS, tmp_path / QUARANTINE
    path.write_text('{"key": "a", "report": {}}\n{"key": "b", "rep', encoding="utf-8")
    assert quarantine_reports(path, target) == ({"a"}, 1)
    assert path.read_text() == '{"key": "a", "report": {}}\n'
    (note,) = [json.loads(line) for line in target.read_text().splitlines()]
    assert note["line"] == 2 and note["text"] == '{"key": "b", "rep'
    assert "torn last line" in note["error"]
