"""The only module that touches instructor (and, with pipeline.model.transport, litellm): validated
structured output, two retries.

- Transport faults (429, 5xx, timeouts, connection errors) are retried by tenacity with jittered
  exponential backoff (honouring Retry-After), a fresh ``AsyncRetrying`` per call.
- Validation failures are re-asked (a small budget) with instructor's handlers for the mode: the
  schema is prepared once per response model, answers are parsed with the validation context,
  and re-ask messages are instructor's own. Re-asks use a different temperature so a local model
  at temperature 0 does not repeat itself. When the budget is spent the last answer is salvaged:
  items that still fail validation are dropped and counted. Messages are sent as rendered:
  instructor's Jinja templating of messages is not used (it would re-render article text).
- Calls are async on the run's event loop (``pipeline.model.transport``), no worker threads.
- With ``json_output = "compact"`` (opt-in, see ``docs/providers.md``) the schema goes to the server
  as a grammar that allows no whitespace (``pipeline.model.grammar``), in place of the mode's
  ``response_format``; a server that refuses the grammar field gets the schema instead, with a
  warning, for the rest of the run.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import instructor
import litellm
import openai
from instructor.v2.core.errors import IncompleteOutputException, ResponseParsingError
from instructor.v2.core.providers import Provider
from instructor.v2.core.registry import mode_registry
from instructor.v2.core.response_model import prepare_response_model
from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from pipeline.core.config import Settings
from pipeline.core.errors import (
    ConfigError,
    NewsauditError,
    ProviderError,
    SetupError,
    ValidationFailure,
)
from pipeline.model.grammar import compact_grammar
from pipeline.model.ratelimit import RateLimiter, estimate_message_tokens
from pipeline.model.transport import Transport, open_transport, price_per_token
from schemas.report import StageMetrics

litellm.suppress_debug_info = True
litellm.telemetry = False
# Failures reach the user once, as newsaudit errors; the libraries' own log lines would repeat them.
logging.getLogger("instructor").addHandler(logging.NullHandler())
logging.getLogger("LiteLLM").setLevel(logging.ERROR)
log = logging.getLogger("newsaudit.model")

T = TypeVar("T", bound=BaseModel)

TRANSIENT = (
    litellm.RateLimitError,
    litellm.InternalServerError,
    litellm.ServiceUnavailableError,
    litellm.BadGatewayError,
    litellm.APIConnectionError,
    litellm.Timeout,
)
MODES = {
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "tools": instructor.Mode.TOOLS,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}
PLACEHOLDER_KEY = "no-key-needed"
PROBE_TOP_LOGPROBS = 20  # the most OpenAI returns; llama-server accepts it too
_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)


def redact(message: str) -> str:
    """Remove the value of every secret-looking environment variable from a message."""
    for name, value in os.environ.items():
        if _SECRET_ENV.search(name) and len(value) >= 8:
            message = message.replace(value, "[redacted]")
    return message


def _retry_after(exc: BaseException | None) -> float | None:
    # litellm keeps the provider's headers on the exception; its .response is synthetic.
    headers = getattr(exc, "litellm_response_headers", None) or getattr(
        getattr(exc, "response", None), "headers", None
    )
    value = headers.get("retry-after") if headers is not None and hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class _BackoffOrRetryAfter:
    """Jittered exponential backoff, or the server's Retry-After when it gives one (capped)."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.jitter = wait_random_exponential(multiplier=initial, max=maximum)
        self.maximum = maximum

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = _retry_after(exc)
        return min(after, self.maximum) if after is not None else self.jitter(state)


def _raw_json(completion: Any) -> str:
    """The JSON text of a chat completion, whichever instructor mode produced it."""
    message = completion.choices[0].message
    calls = getattr(message, "tool_calls", None)
    if calls:
        return str(calls[0].function.arguments)
    text = message.content or ""
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    return fenced.group(1) if fenced else text


# Modes whose answer is the message's JSON text, which a grammar can constrain.
GRAMMAR_MODES = (instructor.Mode.JSON_SCHEMA, instructor.Mode.JSON)


class GrammarRefused(ProviderError):
    """The server answered a request with a grammar field by refusing that field."""


def _refuses_grammar(exc: BaseException) -> bool:
    """A 400/422 answer that names the grammar: the server does not take the field (OpenAI:
    "Unrecognized request argument supplied: grammar"), or not this grammar."""
    refusal = isinstance(exc, litellm.BadRequestError | litellm.UnprocessableEntityError)
    return refusal and "grammar" in str(exc).lower()


@cache
def _grammar_body(response_model: type[BaseModel], mode: instructor.Mode) -> dict[str, str]:
    """The request's extra body for compact JSON, once per response model and mode (its
    identity is stable, so the transport maps the parameters once)."""
    model, extra = _prepared(response_model, mode)
    response_format = (extra or {}).get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema")
    return {"grammar": compact_grammar(schema or model.model_json_schema())}


# What instructor re-asks on: the answer is not JSON, or fails the schema or a validator.
REASK_ON = (ValidationError, json.JSONDecodeError, ResponseParsingError)


def warm_up(models: list[type[BaseModel]]) -> None:
    """Prepare the schemas of these response models for every mode, ahead of the first call."""
    for model in models:
        for mode in MODES.values():
            _prepared(model, mode)


@cache
def _prepared(
    response_model: type[BaseModel], mode: instructor.Mode
) -> tuple[Any, dict[str, Any] | None]:
    """instructor's model for parsing, and the request arguments its mode adds (response_format
    or tools), once per response model and mode rather than once per call; None when the mode
    writes the schema into the messages instead (json, md_json), which takes every call."""
    handlers = mode_registry.get_handlers(Provider.OPENAI, mode)
    model, kwargs = handlers.request_handler(
        response_model=prepare_response_model(response_model), kwargs={"messages": []}
    )
    if kwargs.get("messages"):
        return model, None
    return model, {k: v for k, v in kwargs.items() if k != "messages"}


class LLM:
    """Structured calls to one configured model; stages receive this object, never litellm."""

    def __init__(
        self,
        settings: Settings,
        *,
        model: str,
        api_base: str | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.model = model
        self.api_base = api_base
        self.limiter = limiter
        self.mode = MODES[settings.instructor_mode()]
        self.json_output = settings.json_output_for()
        if self.json_output == "compact" and self.mode not in GRAMMAR_MODES:
            raise ConfigError(
                f"model {model}: json_output = compact needs mode json_schema or json, "
                f"not {settings.instructor_mode()}"
            )
        self.api_key = self._api_key()
        self.handlers = mode_registry.get_handlers(Provider.OPENAI, self.mode)
        self.transport: Transport = open_transport(model, api_base, self.api_key)
        self.price = price_per_token(model)  # looked up once; cost comes from the usage

    @property
    def provider(self) -> str:
        """The litellm provider prefix of the model string."""
        return self.model.split("/", 1)[0]

    def _api_key(self) -> str | None:
        if self.settings.api_key_env:
            key = os.environ.get(self.settings.api_key_env)
            if not key:
                raise ConfigError(
                    f"model {self.model}: environment variable {self.settings.api_key_env} is unset"
                )
            return key
        if self.api_base:
            # Local OpenAI-compatible servers need no key, but the client insists on one.
            return None if os.environ.get("OPENAI_API_KEY") else PLACEHOLDER_KEY
        missing = litellm.validate_environment(model=self.model).get("missing_keys") or []
        if missing:
            raise ConfigError(
                f"model {self.model}: missing {', '.join(missing)} in the environment"
            )
        return None

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
            "timeout": self.settings.timeout_s,
        }
        if self.settings.seed is not None:
            params["seed"] = self.settings.seed
        if self.api_base:
            params["api_base"] = self.api_base
        if self.api_key:
            params["api_key"] = self.api_key
        return params

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.settings.retry_attempts),
            wait=_BackoffOrRetryAfter(self.settings.retry_initial_s, self.settings.retry_max_s),
            retry=retry_if_exception_type(TRANSIENT),
            reraise=True,
        )

    async def _send(self, kwargs: dict[str, Any], metrics: StageMetrics) -> Any:
        """One request with transport retries under the rate limit; newsaudit errors out."""
        try:
            async for attempt in self._retrying():
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        metrics.transport_retries += 1
                    if self.limiter is not None:
                        await self.limiter.before_request(
                            estimate_message_tokens(kwargs["messages"])
                        )
                    return await self.transport.send(kwargs)
        except TRANSIENT as exc:
            raise ProviderError(
                f"{self.model}: {type(exc).__name__} after "
                f"{self.settings.retry_attempts} attempts: {redact(str(exc))[:300]}"
            ) from None
        except litellm.AuthenticationError as exc:
            raise ConfigError(
                f"{self.model}: authentication failed: {redact(str(exc))[:300]}"
            ) from None
        except openai.APIError as exc:  # every litellm exception derives from it
            refused = "extra_body" in kwargs and _refuses_grammar(exc)
            raise (GrammarRefused if refused else ProviderError)(
                f"{self.model}: {type(exc).__name__}: {redact(str(exc))[:300]}"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _record(self, response: Any, metrics: StageMetrics) -> None:
        metrics.calls += 1
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        metrics.prompt_tokens += prompt
        metrics.completion_tokens += completion
        if self.price is not None:
            cost = prompt * self.price[0] + completion * self.price[1]
            metrics.cost_usd = (metrics.cost_usd or 0.0) + cost
        if self.limiter is not None:
            self.limiter.charge(completion)

    def _salvage(
        self, last: Any, attempts: int, response_model: type[T], context: dict[str, Any]
    ) -> T:
        verifier = context.get("quotes")
        if verifier is not None:
            verifier.reset()
        context["drop_invalid"] = True
        try:
            return response_model.model_validate_json(_raw_json(last), context=context)
        except (ValidationError, ValueError) as err:
            raise ValidationFailure(
                f"{response_model.__name__}: invalid after {attempts} attempts: "
                f"{redact(str(err)).splitlines()[0][:300]}"
            ) from None

    def _parse(self, response: Any, model: Any, context: dict[str, Any]) -> Any:
        try:
            return self.handlers.response_parser(
                response=response, response_model=model, validation_context=context, strict=True
            )
        except IncompleteOutputException:
            raise ValidationFailure(
                f"{model.__name__}: the answer was cut off at max_tokens={self.settings.max_tokens}"
            ) from None

    def _request(
        self, response_model: type[BaseModel], messages: list[dict[str, str]]
    ) -> tuple[Any, dict[str, Any]]:
        """instructor's parsing model and the request arguments, as its create() builds them."""
        model, extra = _prepared(response_model, self.mode)
        kwargs = {**self._params(), "messages": list(messages)}
        if extra is None:
            _, kwargs = self.handlers.request_handler(response_model=model, kwargs=kwargs)
        else:
            kwargs.update(extra)
        convert = self.handlers.message_converter
        if convert is not None:
            kwargs["messages"] = convert(kwargs["messages"])
        if self.json_output == "compact":
            grammar = self._grammar(response_model)
            if grammar is not None:
                kwargs.pop("response_format", None)
                kwargs["extra_body"] = grammar
        return model, kwargs

    def _grammar(self, response_model: type[BaseModel]) -> dict[str, str] | None:
        """The compact grammar body, or None (schema from now on) when none can be built."""
        try:
            return _grammar_body(response_model, self.mode)
        except SetupError as exc:
            self._schema_from_now(f"compact JSON off, the schema is sent instead: {exc}")
            return None

    def _schema_from_now(self, why: str) -> str:
        """Send the mode's schema for the rest of the run; say why once on stderr (and return
        it, for the stage's warnings)."""
        self.json_output = "schema"
        log.warning("newsaudit: %s: %s", self.model, why)
        return why

    async def _send_compact(
        self,
        kwargs: dict[str, Any],
        response_model: type[BaseModel],
        messages: list[dict[str, str]],
        metrics: StageMetrics,
        context: dict[str, Any],
    ) -> tuple[Any, dict[str, Any]]:
        """Send; when the server refuses the grammar field, send the schema instead (this call
        and the rest of the run), noting it in the stage's warnings."""
        try:
            return await self._send(kwargs, metrics), kwargs
        except GrammarRefused as exc:
            why = self._schema_from_now(f"the server refused the grammar field, schema sent: {exc}")
            context.setdefault("warnings", []).append(why)
            _, schema_kwargs = self._request(response_model, messages)
            schema_kwargs["messages"] = kwargs["messages"]  # keep any re-ask turns
            schema_kwargs["temperature"] = kwargs["temperature"]
            return await self._send(schema_kwargs, metrics), schema_kwargs

    async def _ask(
        self,
        response_model: type[T],
        messages: list[dict[str, str]],
        context: dict[str, Any],
        metrics: StageMetrics,
    ) -> T:
        """The call and its re-asks: instructor's parsing and re-ask wording, our loop."""
        model, kwargs = self._request(response_model, messages)
        attempts = self.settings.max_reasks + 1
        for attempt in range(1, attempts + 1):
            if context.get("quotes") is not None:
                context["quotes"].reset()
            if attempt > 1:
                metrics.reasks += 1
                kwargs["temperature"] = self.settings.reask_temperature
            response, kwargs = await self._send_compact(
                kwargs, response_model, messages, metrics, context
            )
            self._record(response, metrics)
            try:
                return self._parse(response, model, context)
            except REASK_ON as exc:
                kwargs = self.handlers.reask_handler(
                    kwargs=kwargs, response=response, exception=exc
                )
        return self._salvage(response, attempts, response_model, context)

    async def probe(
        self, stage: str, messages: list[dict[str, str]], options: Sequence[str]
    ) -> tuple[dict[str, float] | None, StageMetrics]:
        """One short question answered by one token: the probability of each option, read
        from the first token's log-probabilities (None when the provider gives none)."""
        metrics = StageMetrics(stage=stage)
        started = time.perf_counter()
        kwargs = {
            **self._params(),
            "messages": messages,
            "max_tokens": 1,
            "logprobs": True,
            "top_logprobs": PROBE_TOP_LOGPROBS,
            "drop_params": True,  # a provider without log-probabilities answers without them
        }
        try:
            response = await self._send(kwargs, metrics)
        except NewsauditError as exc:
            exc.stage, exc.spent = stage, [metrics]
            raise
        finally:
            metrics.seconds = round(time.perf_counter() - started, 3)
        self._record(response, metrics)
        return option_probabilities(response, options), metrics

    async def structured(
        self,
        stage: str,
        response_model: type[T],
        messages: list[dict[str, str]],
        context: dict[str, Any] | None = None,
    ) -> tuple[T, StageMetrics]:
        """One validated structured call; returns the result and what it cost."""
        metrics = StageMetrics(stage=stage)
        context = {} if context is None else context
        started = time.perf_counter()
        try:
            result = await self._ask(response_model, messages, context, metrics)
        except NewsauditError as exc:
            metrics.seconds = round(time.perf_counter() - started, 3)
            exc.stage, exc.spent = stage, [metrics]
            raise
        metrics.seconds = round(time.perf_counter() - started, 3)
        verifier = context.get("quotes")
        if verifier is not None:
            metrics.quote_repairs = len(verifier.stats.repaired)
        dropped = context.get("dropped", [])
        metrics.dropped_items = len(dropped)
        metrics.dropped_reasons = [f"{d['field']}: {d['reason']}" for d in dropped]
        metrics.warnings = list(context.get("warnings", []))
        return result, metrics


def option_probabilities(response: Any, options: Sequence[str]) -> dict[str, float] | None:
    """The probability of each option as the answer's first token, renormalised over the
    options, from the response's top log-probabilities ("A", " a", "A)" all count as A);
    None when the provider returned no log-probabilities or none of the options."""
    choice = response.choices[0]
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not content:
        return None
    mass = dict.fromkeys(options, 0.0)
    for top in getattr(content[0], "top_logprobs", None) or []:
        key = str(top.token).strip().strip(".):").upper()
        if key in mass:
            mass[key] += math.exp(float(top.logprob))
    total = sum(mass.values())
    return {k: v / total for k, v in mass.items()} if total > 0 else None


def describe_failure(exc: Exception) -> str:
    """A one-line, secret-free description of any exception."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return redact(text)
