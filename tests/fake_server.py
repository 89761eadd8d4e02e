"""A scriptable OpenAI-compatible chat server on 127.0.0.1, for cases cassettes cannot express.

It answers newsaudit's structured calls (it reads the schema name instructor sends in
``response_format``) with schema-valid JSON citing the article's own numbered sentences, and
one-token questions asked with ``logprobs`` with the letter D and its top log-probabilities.
Tests script it: a fixed latency, a queue of faults served before normal answers
(HTTP statuses, with or without Retry-After), and articles that always fail (any article
containing ``ALWAYS_FAIL_MARKER``). It counts every request it serves.

Run standalone (for the benchmark, or to try the CLI without a model):
``python -m tests.fake_server --latency 0.5`` (prints its ``api_base``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ALWAYS_FAIL_MARKER = "FAKE-SERVER-ALWAYS-FAILS"
ARTICLE = re.compile(r"<article>\s*(.*?)\s*</article>", re.DOTALL)
PARAGRAPH = (
    "The city council of {town} approved a budget of {n} million euros on Tuesday. "
    "Mayor Anna Berg said the money would repair {n} bridges before winter. "
    "Opposition members voted against the plan and asked for an audit of the contracts."
)


def synthetic_records(count: int, start: int = 0) -> list[dict[str, Any]]:
    """Short distinct article records (ids syn-N) for batch tests and the benchmark."""
    return [
        {
            "id": f"syn-{i}",
            "source": "synthetic",
            "title": f"Council of Town{i} approves budget",
            "text": PARAGRAPH.format(town=f"Town{i}", n=i + 2),
        }
        for i in range(start, start + count)
    ]


NUMBERED = re.compile(r"\[(\d+)\] (.*?)(?= \[\d+\] |\n|$)")
FLAGGED = re.compile(r"FLAGGED sentences[^:]*: ([\d, ]+)\.")
TARGETS = re.compile(r"SENTENCES: ([\d, ]+)")


def _numbered(user: str) -> list[tuple[int, str]]:
    """The numbered sentences of the article block (number, text)."""
    match = ARTICLE.search(user)
    text = match.group(1) if match else user
    found = [(int(n), t.strip()) for n, t in NUMBERED.findall(text)]
    return [(n, t) for n, t in found if len(t.split()) >= 4] or found or [(1, ".")]


def _numbers(pattern: re.Pattern[str], user: str) -> list[int]:
    match = pattern.search(user.split("</article>")[-1])
    return [int(x) for x in match.group(1).replace(" ", "").split(",") if x] if match else []


def answer_for(schema: str, user: str) -> dict[str, Any]:
    """A valid answer to one of newsaudit's stage schemas, citing the article in ``user``."""
    sentences = _numbered(user)
    if schema == "SummaryDraft":
        return {
            "points": [
                {"text": " ".join(t.split()[:20]), "sentences": [n]} for n, t in (sentences * 2)[:2]
            ],
            "neutral_title": "What the article reports",
        }
    if schema == "ClaimPicks":
        return {"claims": [{"sentence": n, "claim": t} for n, t in sentences[:3]]}
    if schema == "SentenceJudgments":
        return {"judgments": [{"sentence": n, "kind": "fact"} for n in _numbers(TARGETS, user)]}
    if schema == "BiasDraft":
        return {
            "neutral_headline": "A neutral account of the report",
            "rewordings": [
                {"sentence": n, "neutral": "A neutral sentence."} for n in _numbers(FLAGGED, user)
            ],
        }
    if schema == "StoryComparison":
        firsts = re.findall(r"^([A-Z])1\. ", user, re.MULTILINE)
        group = {"statement": "What the first claims share", "claims": [f"{x}1" for x in firsts]}
        return {"groups": [group] if len(firsts) > 1 else []}
    if schema == "StoryEvent":
        return {"who": "the speaker", "event": "press conference", "place": None, "when": None}
    raise ValueError(f"the fake server does not know the schema {schema!r}")


PROBE_ANSWER = {"A": -2.0, "B": -2.5, "C": -3.0, "D": -0.3, "E": -2.2}  # "a checkable fact"


def probe_logprobs() -> dict[str, Any]:
    """The log-probabilities a one-token answer carries (the same for every question)."""
    tops = [{"token": k, "logprob": v, "bytes": list(k.encode())} for k, v in PROBE_ANSWER.items()]
    return {"content": [{"token": "D", "logprob": -0.3, "bytes": [68], "top_logprobs": tops}]}


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up (a killed batch) are expected here, not worth a traceback.

    The listen backlog holds a benchmark's whole burst of new connections (the standard 5
    would drop SYNs, and each drop costs the client a one-second retransmit).
    """

    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, served instead of (or before) a normal answer."""

    status: int = 200
    content: str | None = None  # "invalid_json", "schema" (valid JSON, wrong shape), "truncated"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep first (then answer normally unless status/content say otherwise)
    echo_auth: bool = False  # a careless provider: the request's Authorization in the error

    @property
    def label(self) -> str:
        """How the request counter names a faulty answer."""
        if self.status != 200:
            return str(self.status)
        return self.content or ("slow" if self.delay_s else "ok")


class FakeServer:
    """The server and its script; use ``running()`` to start and stop it around a test."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.faults: list[Fault] = []
        self.requests: Counter[str] = Counter()
        self.logprobs = True  # False: a provider that gives no log-probabilities
        self.bodies: list[dict[str, Any]] = []  # every request body, in arrival order
        self.arrivals: list[float] = []  # time.monotonic() of every request's arrival
        self.lock = threading.Lock()
        # Cleared by a test to hold every answer until it sets it again; ``arrived`` is set
        # by the first request counted.
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = threading.Event()
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root to configure as ``api_base``."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        """Serve ``status`` to the next ``times`` requests, then answer normally."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.script(Fault(status=status, headers=headers), times)

    def script(self, fault: Fault, times: int = 1) -> None:
        """Serve ``fault`` to the next ``times`` requests, then answer normally."""
        with self.lock:
            self.faults.extend([fault] * times)

    @contextmanager
    def running(self) -> Iterator[FakeServer]:
        """Serve in a background thread for the length of the block."""
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()

    def _next_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in one write (flushed after each request): sent apart,
            # the client's delayed ACK would add about 40 ms to every call.
            wbufsize = -1

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    request = json.loads(self.rfile.read(length))
                except ValueError:
                    self._send(400, {"error": {"message": "unreadable request body"}}, {})
                    return
                schema = request.get("response_format", {}).get("json_schema", {}).get("name", "")
                # The stage prompt (re-asks append the model's answer and a correction after it).
                user = next(m["content"] for m in request["messages"] if m["role"] == "user")
                fault = server._next_fault()
                if fault is None and ALWAYS_FAIL_MARKER in user:
                    fault = Fault(status=500)
                with server.lock:
                    server.arrivals.append(time.monotonic())
                    server.bodies.append(request)
                    name = schema or ("probe" if request.get("logprobs") else "")
                    server.requests[name if fault is None else f"{name}:{fault.label}"] += 1
                server.arrived.set()
                server.gate.wait(timeout=120)
                if server.latency_s:
                    time.sleep(server.latency_s)  # counted on arrival, answered after the delay
                if fault is not None and fault.delay_s:
                    time.sleep(fault.delay_s)
                if fault is not None and fault.status != 200:
                    message = f"fake fault {fault.status}"
                    if fault.echo_auth:
                        message += f" for {self.headers.get('Authorization')}"
                    error = {"message": message, "type": "server_error"}
                    self._send(fault.status, {"error": error}, fault.headers)
                    return
                probe = bool(request.get("logprobs")) and not schema
                carries = probe and server.logprobs  # the answer's log-probabilities
                content = "D" if probe else json.dumps(answer_for(schema, user))
                finish = "length" if probe else "stop"
                if fault is not None and fault.content == "invalid_json":
                    content = "Sure! Here is the JSON you asked for: {claims: [oops"
                elif fault is not None and fault.content == "schema":
                    content = json.dumps({"unexpected": "shape"})
                elif fault is not None and fault.content == "truncated":
                    content, finish = content[: len(content) // 2], "length"
                prompt = sum(len(m.get("content") or "") for m in request["messages"]) // 4
                self._send(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": request.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": finish,
                                "message": {"role": "assistant", "content": content},
                                **({"logprobs": probe_logprobs()} if carries else {}),
                            }
                        ],
                        "usage": {
                            "prompt_tokens": prompt,
                            "completion_tokens": len(content) // 4,
                            "total_tokens": prompt + len(content) // 4,
                        },
                    },
                    {},
                )

        return Handler


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    args = parser.parse_args()
    server = FakeServer(args.latency)
    print(server.base_url, flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
