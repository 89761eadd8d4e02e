"""The only module that touches litellm and instructor: validated structured output, two retries.

- Transport faults (429, 5xx, timeouts, connection errors) are retried by tenacity with jittered
  exponential backoff (honouring Retry-After), a fresh ``Retrying`` per call.
- Validation failures are re-asked by instructor (a small budget); re-asks use a different
  temperature so a local model at temperature 0 does not repeat itself. When the budget is spent
  the last answer is salvaged: items that still fail validation are dropped and counted.
- The sync litellm client runs in a worker thread: its httpx transport is what vcrpy records.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import time
from collections.abc import Sequence
from typing import Any, TypeVar

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import instructor
import litellm
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from pipeline.config import Settings
from pipeline.errors import ConfigError, NewsauditError, ProviderError, ValidationFailure
from pipeline.ratelimit import RateLimiter, estimate_message_tokens
from schemas.report import StageMetrics

litellm.suppress_debug_info = True
litellm.telemetry = False
# Failures reach the user once, as newsaudit errors; the libraries' own log lines would repeat them.
logging.getLogger("instructor").addHandler(logging.NullHandler())
logging.getLogger("LiteLLM").setLevel(logging.ERROR)

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


def _shielded(messages: list[dict[str, str]], context: dict[str, Any]) -> list[dict[str, str]]:
    """Messages that survive instructor's templating unchanged.

    instructor renders every message as a Jinja template with the validation context, so an
    article holding ``{{``, ``{%`` or ``{#`` would be rewritten or break the call. Each content
    becomes a placeholder whose value, kept in the context, renders back to the exact text.
    """
    shielded = []
    for number, message in enumerate(messages):
        name = f"newsaudit_message_{number}"
        context[name] = message["content"]
        shielded.append({**message, "content": "{{ " + name + " }}"})
    return shielded


def _provider_error(exc: BaseException) -> NewsauditError | None:
    """The first newsaudit error in an exception's cause chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, NewsauditError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


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
        self.api_key = self._api_key()

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

    def _send(self, kwargs: dict[str, Any], metrics: StageMetrics) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.retry_attempts),
            wait=_BackoffOrRetryAfter(self.settings.retry_initial_s, self.settings.retry_max_s),
            retry=retry_if_exception_type(TRANSIENT),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        metrics.transport_retries += 1
                    if self.limiter is not None:
                        self.limiter.before_request_blocking(
                            estimate_message_tokens(kwargs["messages"])
                        )
                    return litellm.completion(**kwargs, num_retries=0, max_retries=0)
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
            raise ProviderError(
                f"{self.model}: {type(exc).__name__}: {redact(str(exc))[:300]}"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _record(response: Any, metrics: StageMetrics) -> None:
        metrics.calls += 1
        usage = getattr(response, "usage", None)
        metrics.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        metrics.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
        # litellm prices every response it can while logging it; None for unknown models.
        hidden = getattr(response, "_hidden_params", None) or {}
        cost = float(hidden.get("response_cost") or 0.0)
        if cost > 0:
            metrics.cost_usd = (metrics.cost_usd or 0.0) + cost

    def _salvage(
        self, exc: InstructorRetryException, response_model: type[T], context: dict[str, Any]
    ) -> T:
        if exc.last_completion is None:
            raise ValidationFailure(f"{self.model}: no usable answer: {redact(str(exc))[:300]}")
        verifier = context.get("quotes")
        if verifier is not None:
            verifier.reset()
        context["drop_invalid"] = True
        try:
            return response_model.model_validate_json(
                _raw_json(exc.last_completion), context=context
            )
        except (ValidationError, ValueError) as err:
            raise ValidationFailure(
                f"{response_model.__name__}: invalid after {exc.n_attempts} attempts: "
                f"{redact(str(err)).splitlines()[0][:300]}"
            ) from None

    def _structured_sync(
        self,
        response_model: type[T],
        messages: list[dict[str, str]],
        context: dict[str, Any],
        metrics: StageMetrics,
    ) -> T:
        attempts = 0

        def completion(**kwargs: Any) -> Any:
            nonlocal attempts
            attempts += 1
            if context.get("quotes") is not None:
                context["quotes"].reset()
            if attempts > 1:
                metrics.reasks += 1
                kwargs["temperature"] = self.settings.reask_temperature
            response = self._send(kwargs, metrics)
            self._record(response, metrics)
            if self.limiter is not None:
                usage = getattr(response, "usage", None)
                self.limiter.after_response_blocking(
                    int(getattr(usage, "completion_tokens", 0) or 0)
                )
            return response

        client = instructor.from_litellm(completion, mode=self.mode)
        try:
            return client.chat.completions.create(
                response_model=response_model,
                messages=_shielded(messages, context),  # type: ignore[arg-type]
                max_retries=self.settings.max_reasks,
                context=context,
                **self._params(),
            )
        except IncompleteOutputException:
            raise ValidationFailure(
                f"{response_model.__name__}: the answer was cut off at max_tokens="
                f"{self.settings.max_tokens}"
            ) from None
        except InstructorRetryException as exc:
            cause = _provider_error(exc)
            if cause is not None:
                raise cause from None
            return self._salvage(exc, response_model, context)

    def _probe_sync(
        self, messages: list[dict[str, str]], options: Sequence[str], metrics: StageMetrics
    ) -> dict[str, float] | None:
        kwargs = {
            **self._params(),
            "messages": messages,
            "max_tokens": 1,
            "logprobs": True,
            "top_logprobs": PROBE_TOP_LOGPROBS,
            "drop_params": True,  # a provider without log-probabilities answers without them
        }
        response = self._send(kwargs, metrics)
        self._record(response, metrics)
        if self.limiter is not None:
            self.limiter.after_response_blocking(1)
        return option_probabilities(response, options)

    async def probe(
        self, stage: str, messages: list[dict[str, str]], options: Sequence[str]
    ) -> tuple[dict[str, float] | None, StageMetrics]:
        """One short question answered by one token: the probability of each option, read
        from the first token's log-probabilities (None when the provider gives none)."""
        metrics = StageMetrics(stage=stage)
        started = time.perf_counter()
        if self.limiter is not None:
            self.limiter.bind(asyncio.get_running_loop())
        try:
            result = await asyncio.to_thread(self._probe_sync, messages, options, metrics)
        except NewsauditError as exc:
            exc.stage, exc.spent = stage, [metrics]
            raise
        finally:
            metrics.seconds = round(time.perf_counter() - started, 3)
        return result, metrics

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
        if self.limiter is not None:
            self.limiter.bind(asyncio.get_running_loop())
        try:
            result = await asyncio.to_thread(
                self._structured_sync, response_model, messages, context, metrics
            )
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
