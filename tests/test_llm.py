"""The LLM adapter without HTTP: re-asks, salvage, token accounting and transport retries."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import litellm
import pytest
from pydantic import BaseModel, field_validator

from pipeline.core.config import load_settings
from pipeline.core.errors import ConfigError, ProviderError
from pipeline.model.llm import LLM, MODES, redact
from pipeline.text.quotes import ArticleQuotes
from schemas.evidence import Quote, keep_valid_items


class QuotedClaim(BaseModel):
    """An item whose quote must be the article's words (a re-ask when it is not)."""

    claim: str
    quote: Quote
    speaker: str | None
    type: str


class ClaimList(BaseModel):
    """A list of quoted items, salvaged item by item once the re-asks are spent."""

    claims: list[QuotedClaim]

    _keep = field_validator("claims", mode="wrap")(keep_valid_items)


TEXT = "The minister resigned on Monday after a long dispute over the national budget."
GOOD = {
    "claim": "c",
    "quote": "The minister resigned on Monday",
    "speaker": None,
    "type": "reported_fact",
}
BAD = {
    "claim": "c",
    "quote": "The minister fled the country by night",
    "speaker": None,
    "type": "reported_fact",
}


def _response(payload: dict[str, Any], prompt: int = 50, completion: int = 20) -> Any:
    return litellm.ModelResponse(
        model="test-model",
        choices=[
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": json.dumps(payload)},
            }
        ],
        usage={
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    )


class Scripted:
    """Stands in for the transport: returns or raises scripted outcomes, records each request's
    arguments (one transport call is one HTTP request: no hidden retries underneath)."""

    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = outcomes
        self.kwargs: list[dict[str, Any]] = []

    async def send(self, kwargs: dict[str, Any]) -> Any:
        self.kwargs.append(copy.deepcopy(kwargs))  # as sent: later re-asks extend the list
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def _llm(
    monkeypatch: pytest.MonkeyPatch, outcomes: list[Any], **overrides: Any
) -> tuple[LLM, Scripted]:
    scripted = Scripted(outcomes)
    settings = load_settings("/dev/null", retry_initial_s=0.001, retry_max_s=0.01, **overrides)
    llm = LLM(settings, model="openai/test-model", api_base="http://127.0.0.1:9/v1")
    monkeypatch.setattr(llm, "transport", scripted)
    return llm, scripted


def _claims(llm: LLM) -> tuple[ClaimList, Any]:
    context = {"quotes": ArticleQuotes(TEXT)}
    messages = [{"role": "user", "content": "extract"}]
    return asyncio.run(llm.structured("claims", ClaimList, messages, context))


def test_reask_uses_a_different_temperature_and_counts_every_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm, scripted = _llm(
        monkeypatch, [_response({"claims": [GOOD, BAD]}), _response({"claims": [GOOD]}, 70, 10)]
    )
    result, metrics = _claims(llm)
    assert [c.quote for c in result.claims] == ["The minister resigned on Monday"]
    assert [k["temperature"] for k in scripted.kwargs] == [0.0, 0.4]
    assert "quote not found in the article" in str(scripted.kwargs[1]["messages"])
    assert (metrics.calls, metrics.reasks, metrics.dropped_items) == (2, 1, 0)
    assert (metrics.prompt_tokens, metrics.completion_tokens) == (120, 30)


def test_after_the_reask_budget_bad_items_are_dropped_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    same = [_response({"claims": [GOOD, BAD]}) for _ in range(3)]
    llm, _ = _llm(monkeypatch, same, max_reasks=2)
    result, metrics = _claims(llm)
    assert [c.quote for c in result.claims] == ["The minister resigned on Monday"]
    assert (metrics.calls, metrics.reasks, metrics.dropped_items) == (3, 2, 1)
    assert "fled the country" in metrics.dropped_reasons[0]
    assert metrics.prompt_tokens == 150


def test_rate_limits_are_retried_with_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    limited = litellm.RateLimitError("slow down", llm_provider="openai", model="test-model")
    llm, scripted = _llm(monkeypatch, [limited, limited, _response({"claims": [GOOD]})])
    result, metrics = _claims(llm)
    assert len(result.claims) == 1
    assert (metrics.calls, metrics.transport_retries, len(scripted.kwargs)) == (1, 2, 3)


def test_a_provider_that_keeps_failing_is_a_provider_error(monkeypatch: pytest.MonkeyPatch) -> None:
    down = litellm.ServiceUnavailableError("down", llm_provider="openai", model="test-model")
    llm, scripted = _llm(monkeypatch, [down] * 3, retry_attempts=3)
    with pytest.raises(ProviderError, match="ServiceUnavailableError after 3 attempts"):
        _claims(llm)
    assert len(scripted.kwargs) == 3


def test_bad_requests_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = litellm.BadRequestError("context too long", llm_provider="openai", model="test-model")
    llm, scripted = _llm(monkeypatch, [bad])
    with pytest.raises(ProviderError, match="BadRequestError"):
        _claims(llm)
    assert len(scripted.kwargs) == 1


def test_hosted_model_without_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="missing OPENAI_API_KEY"):
        LLM(load_settings("/dev/null"), model="openai/gpt-4o-mini")


def test_named_key_variable_must_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEAM_LLM_KEY", raising=False)
    settings = load_settings("/dev/null", api_key_env="TEAM_LLM_KEY")
    with pytest.raises(ConfigError, match="TEAM_LLM_KEY is unset"):
        LLM(settings, model="openai/gpt-4o-mini")


def test_redact_removes_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    assert redact("bad key sk-test-0123456789abcdef given") == "bad key [redacted] given"


def test_template_syntax_in_an_article_reaches_the_model_verbatim() -> None:
    """instructor renders messages as Jinja templates; an article's braces must survive it."""
    from pipeline.core.config import Settings
    from pipeline.run import audit
    from pipeline.text.ingest import RawDocument
    from tests.fake_server import FakeServer

    body = (
        "The council published a template {{ 7 * 7 }} in its report on Monday.\n\n"
        "Officials said the block {% if admin %}secret{% endif %} was a typo. "
        "A comment marker {# like this was also printed in the report."
    )
    doc = RawDocument(id="braces", source="test", kind="text", content=body)
    fake = FakeServer()
    with fake.running():
        settings = Settings(
            model="openai/fake-model",
            api_base=fake.base_url,
            retry_attempts=1,
            judgments={"model_signal": "batch"},  # type: ignore[arg-type]
        )
        llm = LLM(settings, model=settings.model, api_base=settings.api_base)
        report = asyncio.run(audit(doc, llm=llm, settings=settings))
    assert len(fake.bodies) == 4
    for request in fake.bodies:
        user = request["messages"][-1]["content"]
        assert "{{ 7 * 7 }}" in user and "{% if admin %}secret{% endif %}" in user
        assert "{# like this" in user
    assert report.claims, "quotes holding braces verify against the article"


def test_cost_is_reported_for_a_priced_model_and_unknown_otherwise() -> None:
    from pipeline.core.config import Settings
    from pipeline.run import audit
    from pipeline.text.ingest import RawDocument
    from tests.fake_server import FakeServer, synthetic_records

    record = synthetic_records(1)[0]
    doc = RawDocument(id="c", source="test", kind="text", content=record["text"])
    fake = FakeServer()
    costs = {}
    with fake.running():
        for model in ("openai/gpt-4o-mini", "openai/some-local-model"):
            settings = Settings(model=model, api_base=fake.base_url, retry_attempts=1)
            llm = LLM(settings, model=settings.model, api_base=settings.api_base)
            report = asyncio.run(audit(doc, llm=llm, settings=settings))
            costs[model] = report.totals().cost_usd
    priced = costs["openai/gpt-4o-mini"]
    assert priced is not None and 0 < priced < 0.01
    assert costs["openai/some-local-model"] is None


def _tool_response(payload: dict[str, Any]) -> Any:
    call = {
        "id": "call-1",
        "type": "function",
        "function": {"name": "ClaimList", "arguments": json.dumps(payload)},
    }
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return litellm.ModelResponse(
        model="test-model",
        choices=[{"index": 0, "finish_reason": "stop", "message": message}],
        usage={"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
    )


def _answer(mode: str, payload: dict[str, Any]) -> Any:
    return _tool_response(payload) if mode == "tools" else _response(payload)


NOT_SENT = {"timeout", "api_base", "api_key", "temperature"}  # transport settings; re-ask temp


def _as_sent(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Request arguments that reach the body. instructor renders each message as a Jinja
    template when it has a context, which drops a final newline; newsaudit sends messages as
    rendered (no templating), so message texts compare without trailing whitespace."""
    sent = {k: v for k, v in kwargs.items() if k not in NOT_SENT}
    sent["messages"] = [
        {**m, "content": m["content"].rstrip() if isinstance(m.get("content"), str) else None}
        for m in sent["messages"]
    ]
    return sent


@pytest.mark.parametrize("mode", ["json_schema", "tools", "json", "md_json"])
def test_requests_and_reasks_are_the_ones_instructor_builds(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Our loop uses instructor's handlers directly: the first request and the re-ask must be
    what instructor's own client sends for the same call, in every mode."""
    import instructor

    sent_by_instructor: list[dict[str, Any]] = []
    answers = [_answer(mode, {"claims": [GOOD, BAD]}), _answer(mode, {"claims": [GOOD]})]

    def completion(**kwargs: Any) -> Any:
        sent_by_instructor.append(json.loads(json.dumps(kwargs, default=str)))
        return answers[len(sent_by_instructor) - 1]

    # json_output = schema: the request as instructor builds it (compact swaps the schema for a
    # grammar, tests/test_grammar.py)
    llm, scripted = _llm(monkeypatch, list(answers), mode=mode, json_output="schema")
    messages = [{"role": "system", "content": "be exact"}, {"role": "user", "content": "extract"}]
    client = instructor.from_litellm(completion, mode=MODES[mode])
    client.chat.completions.create(
        response_model=ClaimList,
        messages=messages,  # type: ignore[arg-type]
        max_retries=1,
        context={"quotes": ArticleQuotes(TEXT)},
        **llm._params(),
    )
    context = {"quotes": ArticleQuotes(TEXT)}
    asyncio.run(llm.structured("claims", ClaimList, messages, context))
    ours = [json.loads(json.dumps(k, default=str)) for k in scripted.kwargs]
    assert len(ours) == len(sent_by_instructor) == 2
    for mine, theirs in zip(ours, sent_by_instructor, strict=True):
        assert _as_sent(mine) == _as_sent(theirs)
