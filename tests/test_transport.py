"""The transport: the body litellm would send, errors as litellm's classes, small pools."""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest

from pipeline.model.transport import ClientPool, LiteLLMTransport, OpenAICompatible, open_transport
from tests.fake_server import FakeServer

MESSAGES = [{"role": "system", "content": "be exact"}, {"role": "user", "content": "summarise"}]
SCHEMA = {"type": "json_schema", "json_schema": {"name": "S", "schema": {"type": "object"}}}


def _kwargs(**extra: Any) -> dict[str, Any]:
    return {
        "model": "openai/local-model",
        "messages": MESSAGES,
        "temperature": 0.0,
        "max_tokens": 2048,
        "seed": 42,
        "timeout": 600.0,
        "api_base": "http://127.0.0.1:9/v1",
        "api_key": "no-key-needed",
        **extra,
    }


def test_the_body_is_litellms_without_transport_settings() -> None:
    transport = OpenAICompatible("openai/local-model", "http://127.0.0.1:9/v1", None)
    assert transport.body(_kwargs(response_format=SCHEMA)) == {
        "model": "local-model",
        "messages": MESSAGES,
        "temperature": 0.0,
        "max_tokens": 2048,
        "seed": 42,
        "response_format": SCHEMA,
    }


def test_any_other_parameter_reaches_the_body() -> None:
    """A call that is not structured output (log-probabilities of one token) goes through too."""
    transport = OpenAICompatible("openai/local-model", "http://127.0.0.1:9/v1", None)
    body = transport.body(_kwargs(max_tokens=1, logprobs=True, top_logprobs=5))
    assert (body["max_tokens"], body["logprobs"], body["top_logprobs"]) == (1, True, 5)


def test_only_the_openai_provider_takes_the_fast_path() -> None:
    assert isinstance(open_transport("openai/gpt-4o-mini", None, "k"), OpenAICompatible)
    assert isinstance(open_transport("anthropic/claude-3-5-haiku", None, None), LiteLLMTransport)


def _send(server: FakeServer, **extra: Any) -> Any:
    transport = OpenAICompatible("openai/fake-model", server.base_url, "no-key-needed")
    return asyncio.run(transport.send(_kwargs(api_base=server.base_url, **extra)))


def test_an_answer_is_a_model_response(server: FakeServer) -> None:
    response = _send(
        server, response_format={"type": "json_schema", "json_schema": {"name": "StoryEvent"}}
    )
    assert isinstance(response, litellm.ModelResponse)
    assert (
        response.usage.prompt_tokens > 0
        and "press conference" in response.choices[0].message.content
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, litellm.RateLimitError),
        (500, litellm.InternalServerError),
        (503, litellm.ServiceUnavailableError),
        (400, litellm.BadRequestError),
        (401, litellm.AuthenticationError),
    ],
)
def test_http_errors_are_litellms_exceptions_with_the_headers(
    server: FakeServer, status: int, error: type[Exception]
) -> None:
    server.fail_next(status, retry_after=7)
    with pytest.raises(error) as raised:
        _send(server)
    assert raised.value.litellm_response_headers["retry-after"] == "7"  # type: ignore[attr-defined]
    assert f"fake fault {status}" in str(raised.value)


def test_a_refused_connection_is_a_connection_error() -> None:
    transport = OpenAICompatible("openai/fake-model", "http://127.0.0.1:9/v1", "no-key-needed")
    with pytest.raises(litellm.APIConnectionError, match="Connection error"):
        asyncio.run(transport.send(_kwargs()))


def test_each_client_carries_at_most_a_few_requests() -> None:
    async def lease(count: int) -> ClientPool:
        pool = ClientPool(timeout=5.0)
        clients = [pool.acquire() for _ in range(count)]
        assert len(set(clients)) == -(-count // ClientPool.PER_CLIENT)
        assert max(pool.busy.values()) == ClientPool.PER_CLIENT
        for client in clients[: ClientPool.PER_CLIENT]:
            pool.release(client)  # the first client's requests are over
        assert pool.acquire() is clients[0]  # the least busy one is reused, none is added
        assert len(pool.busy) == 3
        return pool

    asyncio.run(lease(20))
