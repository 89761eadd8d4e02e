"""How one chat request reaches the model: litellm decides the request, a pooled client sends it.

For the ``openai/`` provider (OpenAI itself, and every OpenAI-compatible server given as
``api_base``: vLLM, llama.cpp, LM Studio, the embedded model), litellm's own parameter mapping
and request transformation build the body (the mapping once per parameter set) and one httpx
client per event loop sends it. ``litellm.acompletion`` would build the same body and add about
5 ms of CPU per call in its logging object, callbacks, cost lookup and response conversion
(measured with ``bench/profile_call.py``), which is more than the rest of an article-stage
costs. Other providers go through ``litellm.acompletion``. Either way the request leaves over
httpx (litellm's aiohttp transport is turned off), which vcrpy records and replays.

Errors are litellm's exception classes, so callers retry and word them the same either way.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import ssl
import weakref
from collections import OrderedDict
from typing import Any, Protocol

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import litellm

litellm.disable_aiohttp_transport = True  # vcrpy patches httpx, not litellm's aiohttp transport

OPENAI_DEFAULT_BASE = "https://api.openai.com/v1"
# litellm keyword arguments that say where and how to send, not what: never in the body.
NOT_IN_BODY = frozenset({"model", "messages", "timeout", "api_base", "api_key"})
HEADERS_FROM_ENV = {"OpenAI-Organization": "OPENAI_ORG_ID", "OpenAI-Project": "OPENAI_PROJECT_ID"}
MAPPINGS_KEPT = 256  # parameter sets remembered (a run uses a handful)
_STATUS_ERRORS: dict[int, Any] = {
    400: litellm.BadRequestError,
    401: litellm.AuthenticationError,
    403: litellm.PermissionDeniedError,
    404: litellm.NotFoundError,
    422: litellm.UnprocessableEntityError,
    429: litellm.RateLimitError,
    502: litellm.BadGatewayError,
    503: litellm.ServiceUnavailableError,
}


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One verifying SSL context for every client (loading the CA bundle costs ~25 ms)."""
    return httpx.create_ssl_context()


class ClientPool:
    """httpx clients, each with at most ``PER_CLIENT`` requests in flight.

    httpcore scans every connection of a pool on every request and response, so one client
    holding 128 connections spent most of the batch's CPU there (``bench/profile_call.py``
    at concurrency 128); small pools keep that scan short.
    """

    PER_CLIENT = 8

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.busy: dict[httpx.AsyncClient, int] = {}

    def acquire(self) -> httpx.AsyncClient:
        """The least busy client, or a new one when all are full."""
        client = min(self.busy, key=self.busy.__getitem__, default=None)
        if client is None or self.busy[client] >= self.PER_CLIENT:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=self.PER_CLIENT)
            client = httpx.AsyncClient(timeout=self.timeout, limits=limits, verify=ssl_context())
            self.busy[client] = 0
        self.busy[client] += 1
        return client

    def release(self, client: httpx.AsyncClient) -> None:
        """The request on ``client`` is over."""
        self.busy[client] -= 1


class Transport(Protocol):
    """Sends one chat completion request (litellm's keyword arguments), returns the response."""

    async def send(self, kwargs: dict[str, Any]) -> Any: ...


def open_transport(model: str, api_base: str | None, api_key: str | None) -> Transport:
    """The fast path for OpenAI-compatible endpoints, litellm.acompletion for the rest."""
    if model.split("/", 1)[0] == "openai":
        return OpenAICompatible(model, api_base, api_key)
    return LiteLLMTransport()


def price_per_token(model: str) -> tuple[float, float] | None:
    """(prompt, completion) USD per token from litellm's price map, None when unknown."""
    try:
        info = litellm.get_model_info(model)
    except Exception:  # litellm raises a plain Exception for models it does not know
        return None
    prompt = float(info.get("input_cost_per_token") or 0.0)
    completion = float(info.get("output_cost_per_token") or 0.0)
    return (prompt, completion) if prompt or completion else None


class LiteLLMTransport:
    """``litellm.acompletion``, for providers with their own wire format."""

    async def send(self, kwargs: dict[str, Any]) -> Any:
        """One request, litellm's own retries off (newsaudit retries)."""
        return await litellm.acompletion(**kwargs, num_retries=0, max_retries=0)


def _status_error(response: httpx.Response, model: str) -> Exception:
    """The litellm exception for an HTTP error answer (headers kept for Retry-After)."""
    try:
        detail = response.json().get("error", {}).get("message") or response.text
    except (ValueError, AttributeError):
        detail = response.text
    message = f"{response.status_code}: {str(detail)[:500]}"
    status = response.status_code
    if status in _STATUS_ERRORS:
        cls = _STATUS_ERRORS[status]
    elif status >= 500:
        cls = litellm.InternalServerError
    else:
        return litellm.APIError(status, message, llm_provider="openai", model=model)
    error: Exception = cls(message=message, llm_provider="openai", model=model, response=response)
    error.litellm_response_headers = response.headers  # type: ignore[attr-defined]
    return error


class OpenAICompatible:
    """One OpenAI-compatible endpoint; the body is litellm's, the HTTP client is pooled."""

    def __init__(self, model: str, api_base: str | None, api_key: str | None) -> None:
        self.name = litellm.get_llm_provider(model, api_base=api_base)[0]
        base = api_base or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
        self.url = (base or OPENAI_DEFAULT_BASE).rstrip("/") + "/chat/completions"
        key = api_key or os.environ.get("OPENAI_API_KEY")
        self.headers = {"Content-Type": "application/json"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        for header, variable in HEADERS_FROM_ENV.items():  # as the openai SDK sends them
            if os.environ.get(variable):
                self.headers[header] = os.environ[variable]
        config = litellm.ProviderConfigManager.get_provider_chat_config(
            self.name, litellm.LlmProviders.OPENAI
        )
        assert config is not None, "litellm has a chat config for every OpenAI model"
        self.config = config
        self._mapped: OrderedDict[tuple[Any, ...], tuple[dict[str, Any], dict[str, Any]]] = (
            OrderedDict()
        )
        # Connections belong to the event loop that opened them: one pool per loop.
        self._pools: weakref.WeakKeyDictionary[Any, ClientPool] = weakref.WeakKeyDictionary()

    def _optional_params(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """litellm's provider mapping of every parameter but the messages (sampling, output
        format, tools, logprobs...), once per parameter set. Schemas and tool lists are keyed
        by identity (they are prepared once per response model); an entry keeps them alive, so
        an identity is never reused while its entry exists."""
        given = {k: v for k, v in kwargs.items() if k not in NOT_IN_BODY and v is not None}
        key = tuple(
            (k, v if isinstance(v, int | float | str | bool) else id(v))
            for k, v in sorted(given.items())
        )
        if key in self._mapped:
            self._mapped.move_to_end(key)
        else:
            mapped = litellm.get_optional_params(
                model=self.name, custom_llm_provider="openai", **given
            )
            self._mapped[key] = (mapped, given)
            if len(self._mapped) > MAPPINGS_KEPT:
                self._mapped.popitem(last=False)
        return self._mapped[key][0]

    def body(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The JSON body litellm would send for these arguments."""
        data = self.config.transform_request(
            model=self.name,
            messages=kwargs["messages"],
            optional_params=dict(self._optional_params(kwargs)),
            litellm_params={},
            headers={},
        )
        extra = data.pop("extra_body", None) or {}
        if data.get("stream") is False:
            data.pop("stream")
        return {**data, **extra}

    def _pool(self, timeout: float) -> ClientPool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = ClientPool(timeout)
        return pool

    async def _post(self, content: bytes, timeout: float) -> httpx.Response:
        pool = self._pool(timeout)
        client = pool.acquire()
        try:
            return await client.post(self.url, content=content, headers=self.headers)
        finally:
            pool.release(client)

    async def send(self, kwargs: dict[str, Any]) -> Any:
        """POST the request; a ModelResponse, or the litellm exception for the failure."""
        content = json.dumps(self.body(kwargs), ensure_ascii=False).encode("utf-8")
        try:
            response = await self._post(content, float(kwargs.get("timeout") or 600.0))
        except httpx.TimeoutException as exc:
            raise litellm.Timeout(
                message=f"timed out: {exc}", model=self.name, llm_provider="openai"
            ) from None
        except Exception as exc:  # refused, reset, or a replay with no recorded answer
            message = f"Connection error: {type(exc).__name__}: {exc}"
            raise litellm.APIConnectionError(
                message=message, llm_provider="openai", model=self.name
            ) from None
        if response.status_code >= 400:
            raise _status_error(response, self.name)
        return litellm.ModelResponse(**response.json())
