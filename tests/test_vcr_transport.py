"""Proof that vcrpy sees litellm's transport: blocked replays never reach a server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import vcr

from pipeline.core.config import load_settings
from pipeline.core.errors import ProviderError
from pipeline.model.llm import LLM
from schemas.summary import SummaryDraft

ANSWER = {"points": [{"text": "a", "sentences": [1]}] * 2, "neutral_title": "t"}


class _Handler(BaseHTTPRequestHandler):
    hits = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.rfile.read(int(self.headers["content-length"]))
        body = json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": json.dumps(ANSWER)},
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.hits = 0
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def _call(api_base: str) -> SummaryDraft:
    settings = load_settings("/dev/null", retry_attempts=1)
    llm = LLM(settings, model="openai/m", api_base=api_base)
    messages = [{"role": "user", "content": "summarise"}]
    result, _ = asyncio.run(llm.structured("summarize", SummaryDraft, messages))
    return result


def test_without_vcr_the_call_reaches_the_server(server: str) -> None:
    assert _call(server).neutral_title == "t"
    assert _Handler.hits == 1


def test_blocked_replay_without_a_cassette_never_reaches_the_server(
    server: str, tmp_path: Path
) -> None:
    blocked = vcr.VCR(record_mode="none", match_on=["method", "path", "body"])
    with blocked.use_cassette(str(tmp_path / "absent.yaml")), pytest.raises(ProviderError):
        _call(server)
    assert _Handler.hits == 0


def test_recorded_call_replays_with_the_server_gone(server: str, tmp_path: Path) -> None:
    cassette = str(tmp_path / "rec.yaml")
    with vcr.VCR(record_mode="all", match_on=["method", "path", "body"]).use_cassette(cassette):
        _call(server)
    assert _Handler.hits == 1
    dead = "http://127.0.0.1:9/v1"
    with vcr.VCR(record_mode="none", match_on=["method", "path", "body"]).use_cassette(cassette):
        assert _call(dead).neutral_title == "t"
    assert _Handler.hits == 1
