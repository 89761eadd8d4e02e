"""Provider faults, scripted on the fake OpenAI-compatible server: each is retried or re-asked
within its budget, then becomes a typed error that says what was spent; nothing hangs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pipeline.core.errors import NewsauditError, ProviderError, ValidationFailure
from pipeline.model.llm import LLM
from pipeline.run import audit
from pipeline.text.ingest import RawDocument
from schemas.report import ArticleReport
from tests.fake_server import FakeServer, Fault, synthetic_records

DOC = RawDocument(id="a", source="test", kind="text", content=synthetic_records(1)[0]["text"])


def run(server: FakeServer, **settings: Any) -> ArticleReport:
    from pipeline.core.config import Settings

    values: dict[str, Any] = {
        "model": "openai/fake-model",
        "api_base": server.base_url,
        "retry_attempts": 3,
        "retry_initial_s": 0.01,
        "retry_max_s": 0.05,
        "judgments": {"model_signal": "batch"},  # one call per stage, as hosted
        **settings,
    }
    config = Settings(**values)
    llm = LLM(config, model=config.model, api_base=config.api_base)
    return asyncio.run(audit(DOC, llm=llm, settings=config))


def failure(server: FakeServer, **settings: Any) -> NewsauditError:
    with pytest.raises(NewsauditError) as caught:
        run(server, **settings)
    return caught.value


def summarize_metrics(report: ArticleReport) -> Any:
    return next(s for s in report.stages if s.stage == "summarize")


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_transient_status_is_retried_then_the_article_completes(
    server: FakeServer, status: int
) -> None:
    server.fail_next(status, times=2)
    report = run(server)
    assert summarize_metrics(report).transport_retries == 2
    assert server.requests[f"SummaryDraft:{status}"] == 2 and server.requests["SummaryDraft"] == 1


def test_retry_after_is_honoured(server: FakeServer) -> None:
    server.fail_next(429, retry_after=1)
    started = time.perf_counter()
    run(server, retry_max_s=5)
    assert time.perf_counter() - started >= 1.0  # the backoff alone would wait ~0.01 s


def test_a_timeout_is_retried(server: FakeServer) -> None:
    server.script(Fault(delay_s=1.5))
    report = run(server, timeout_s=0.5)
    assert summarize_metrics(report).transport_retries == 1


def test_a_provider_that_always_times_out_fails_in_bounded_time(server: FakeServer) -> None:
    server.script(Fault(delay_s=1.0), times=3)
    started = time.perf_counter()
    error = failure(server, timeout_s=0.3)
    assert isinstance(error, ProviderError)
    assert "Timeout after 3 attempts" in str(error)
    assert time.perf_counter() - started < 10
    assert error.stage == "summarize" and error.spent[-1].transport_retries == 2


def test_connection_refused_is_a_provider_error_naming_the_model() -> None:
    from pipeline.core.config import Settings

    config = Settings(
        model="openai/fake-model",
        api_base="http://127.0.0.1:9/v1",
        retry_attempts=2,
        retry_initial_s=0.01,
        retry_max_s=0.02,
    )
    llm = LLM(config, model=config.model, api_base=config.api_base)
    with pytest.raises(ProviderError, match=r"openai/fake-model: .*after 2 attempts"):
        asyncio.run(audit(DOC, llm=llm, settings=config))


def test_invalid_json_is_reasked_and_the_reask_is_counted(server: FakeServer) -> None:
    server.script(Fault(content="invalid_json"))
    metrics = summarize_metrics(run(server))
    assert metrics.calls == 2 and metrics.reasks == 1
    assert server.requests["SummaryDraft:invalid_json"] == 1


def test_an_answer_that_keeps_failing_the_schema_is_a_validation_failure(
    server: FakeServer,
) -> None:
    server.script(Fault(content="schema"), times=2)
    error = failure(server, max_reasks=1)
    assert isinstance(error, ValidationFailure)
    assert error.stage == "summarize"
    (spent,) = error.spent[1:]  # clean, then the failed stage
    assert spent.calls == 2 and spent.reasks == 1 and spent.completion_tokens > 0


def test_a_truncated_answer_is_a_validation_failure_naming_max_tokens(
    server: FakeServer,
) -> None:
    server.script(Fault(content="truncated"), times=3)
    error = failure(server)
    assert isinstance(error, ValidationFailure)
    assert "cut off at max_tokens=2048" in str(error)
    assert error.spent[-1].calls >= 1


def test_a_bad_request_is_not_retried(server: FakeServer) -> None:
    server.fail_next(400, times=5)
    error = failure(server)
    assert isinstance(error, ProviderError)
    assert server.requests["SummaryDraft:400"] == 1
