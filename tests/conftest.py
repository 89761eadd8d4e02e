"""Shared fixtures: seed articles, the gold file, and the cassette-replayed seed reports.

Cassette tests replay model responses recorded from the embedded llama-server. ``--record``
re-records them (and regenerates examples/) against a real server; it needs
``newsaudit setup-local`` first; ``--record-missing`` records only seeds that have no cassette
yet and replays the rest. Without either, replays run offline: vcrpy raises on any request
that is not in the cassette, so nothing reaches a network.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pytest
import vcr
import yaml

from pipeline.core.config import Settings, load_settings
from pipeline.model.llm import LLM
from pipeline.model.server import LocalServer, weights_for
from pipeline.report import to_html, to_json, to_markdown
from pipeline.run import audit
from pipeline.text.ingest import read_document
from schemas.report import ArticleReport
from tests.fake_server import FakeServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = ROOT / "tests" / "fixtures" / "seeds"
HOSTILE_DIR = ROOT / "tests" / "fixtures" / "hostile"
CASSETTES = ROOT / "cassettes"
EXAMPLES = ROOT / "examples"
SEEDS = sorted(p.name for p in SEEDS_DIR.glob("*.txt"))
REPLAY_API_BASE = "http://127.0.0.1:9/v1"  # the discard port: nothing answers there
SECRET_HEADERS = [
    "authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "cookie",
    "set-cookie",
    "openai-organization",
    "openai-project",
]


def pytest_configure(config: pytest.Config) -> None:
    """Tests are hermetic: a developer's NEWSAUDIT_* settings must not change the requests."""
    for name in [n for n in os.environ if n.startswith("NEWSAUDIT_") and n != "NEWSAUDIT_HOME"]:
        del os.environ[name]
    # No calibration profile of the developer's may change the labels the recordings replay.
    os.environ["NEWSAUDIT_CALIBRATION_DIR"] = tempfile.mkdtemp(prefix="newsaudit-calibration-")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record",
        action="store_true",
        help="re-record cassettes and examples/ against the embedded model server",
    )
    parser.addoption(
        "--record-missing",
        action="store_true",
        help="record only the seeds without a cassette (and their examples); replay the rest",
    )


def _drop_response_secrets(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            del headers[name]
    return response


def make_vcr(record: bool, mode: str = "all") -> vcr.VCR:
    """vcrpy matching on the JSON body (not call order), secrets filtered both ways."""
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=mode if record else "none",
        match_on=["method", "path", "body"],
        filter_headers=SECRET_HEADERS,
        filter_query_parameters=["key", "api_key", "api-key"],
        before_record_response=_drop_response_secrets,
        decode_compressed_response=True,
        # A re-recording replaces the cassette, never extends it. Only then: vcrpy saves a
        # cassette whose requests went unused, so a replay that misses would otherwise rewrite
        # the committed cassette with only the requests it matched.
        drop_unused_requests=record,
    )


def replay_settings() -> Settings:
    """Default settings, with no config file (retries do not shape request bodies)."""
    return load_settings(os.devnull, retry_attempts=1)  # a cassette miss fails at once


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """The scriptable fake OpenAI-compatible server, on 127.0.0.1 for one test."""
    fake = FakeServer()
    with fake.running():
        yield fake


@pytest.fixture(scope="session")
def gold() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "tests" / "fixtures" / "gold_seeds.yaml").read_text())


@pytest.fixture(scope="session")
def recording(request: pytest.FixtureRequest) -> bool:
    return bool(
        request.config.getoption("--record") or request.config.getoption("--record-missing")
    )


@pytest.fixture(scope="session")
def record_mode(request: pytest.FixtureRequest) -> str:
    return "all" if request.config.getoption("--record") else "once"


@pytest.fixture(scope="session")
def model_endpoint(recording: bool) -> Iterator[tuple[str, str]]:
    """(litellm model, api_base): a live embedded server when recording, else a dead address."""
    settings = replay_settings()
    if recording:
        with LocalServer(settings.model, settings.server) as server:
            yield server.litellm_model, server.base_url
    else:
        yield f"openai/{weights_for(settings.model).alias}", REPLAY_API_BASE


def _replay(
    files: list[Path],
    cassettes: str,
    *,
    recording: bool,
    record_mode: str,
    model_endpoint: tuple[str, str],
    examples: Path | None,
) -> dict[str, ArticleReport]:
    """Every stage run on each file through litellm's real HTTP path, one cassette per file."""
    settings = replay_settings()
    model, api_base = model_endpoint
    llm = LLM(settings, model=model, api_base=api_base)
    recorder = make_vcr(recording, record_mode)
    reports = {}
    for path in files:
        cassette = f"{cassettes}{path.stem}.yaml"
        fresh = recording and (record_mode == "all" or not (CASSETTES / cassette).exists())
        with recorder.use_cassette(cassette):
            doc = replace(read_document(str(path)), source=str(path.relative_to(ROOT)))
            report = asyncio.run(audit(doc, llm=llm, settings=settings))
        reports[path.name] = report
        if fresh and examples is not None:
            examples.mkdir(exist_ok=True)
            (examples / f"{path.stem}.json").write_text(to_json(report) + "\n", encoding="utf-8")
            (examples / f"{path.stem}.md").write_text(to_markdown(report), encoding="utf-8")
            (examples / f"{path.stem}.html").write_text(to_html(report), encoding="utf-8")
    return reports


@pytest.fixture(scope="session")
def seed_reports(
    recording: bool, record_mode: str, model_endpoint: tuple[str, str]
) -> dict[str, ArticleReport]:
    """Every stage run on every seed, replayed from cassettes/ (examples/ when recording)."""
    return _replay(
        [SEEDS_DIR / seed for seed in SEEDS],
        "",
        recording=recording,
        record_mode=record_mode,
        model_endpoint=model_endpoint,
        examples=EXAMPLES,
    )


@pytest.fixture(scope="session")
def hostile_reports(
    recording: bool, record_mode: str, model_endpoint: tuple[str, str]
) -> dict[str, ArticleReport]:
    """Articles carrying prompt injections, replayed from cassettes/hostile/."""
    return _replay(
        sorted(HOSTILE_DIR.glob("*.txt")),
        "hostile/",
        recording=recording,
        record_mode=record_mode,
        model_endpoint=model_endpoint,
        examples=None,
    )
