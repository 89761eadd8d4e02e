"""Runs the embedded llama-server on 127.0.0.1: start, wait for health, reuse, stop on exit."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from pipeline.core.config import EMBEDDED_PREFIX, ServerSettings
from pipeline.core.errors import SetupError
from pipeline.model.local_model import WEIGHTS, WeightsSpec, server_binary, weights_path


def free_port(host: str) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def weights_for(model: str) -> WeightsSpec:
    """The pinned weights named by an ``embedded/<name>`` model string."""
    name = model.removeprefix(EMBEDDED_PREFIX)
    if name not in WEIGHTS:
        raise SetupError(f"unknown embedded model {model!r}; choose one of {sorted(WEIGHTS)}")
    return WEIGHTS[name]


class LocalServer:
    """One llama-server process serving the embedded model over the OpenAI-compatible API."""

    def __init__(self, model: str, settings: ServerSettings) -> None:
        self.spec = weights_for(model)
        self.settings = settings
        self.binary = settings.binary or server_binary()
        self.gguf = settings.gguf or weights_path(self.spec)
        self.port = settings.port or free_port(settings.host)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"newsaudit-llama-server-{self.port}.log"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root."""
        return f"http://{self.settings.host}:{self.port}/v1"

    @property
    def litellm_model(self) -> str:
        """The model string litellm uses to reach this server."""
        return f"openai/{self.spec.alias}"

    def command(self) -> list[str]:
        """The llama-server command line."""
        s = self.settings
        return [
            str(self.binary), "-m", str(self.gguf), "--alias", self.spec.alias,
            "--host", s.host, "--port", str(self.port), "-c", str(s.ctx_size),
            "-t", str(s.threads), "-np", "1", "--jinja",
            # Weight repacking picks the AMX kernels where the CPU flags them; they segfault in
            # VMs that do not grant AMX tile state, so repacking stays off.
            "--no-repack",
        ]  # fmt: skip

    def start(self) -> LocalServer:
        """Start the process and block until /health answers 200."""
        for path, what in ((self.binary, "llama-server"), (self.gguf, "model weights")):
            if not Path(path).exists():
                raise SetupError(f"{what} not found at {path}: run `newsaudit setup-local` first")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-400:]
                raise SetupError(f"llama-server exited with {self.process.returncode}: {tail}")
            if self._healthy():
                return self
            time.sleep(0.25)
        self.stop()
        raise SetupError(f"llama-server not healthy after {self.settings.startup_timeout_s} s")

    def _healthy(self) -> bool:
        url = f"http://{self.settings.host}:{self.port}/health"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self) -> None:
        """Terminate the process (kill it if it will not stop)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
