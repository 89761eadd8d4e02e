"""A fake llm for stage logic tests: returns queued answers, validated like the real adapter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from schemas.report import StageMetrics

T = TypeVar("T", bound=BaseModel)
Probe = Callable[[list[dict[str, str]]], dict[str, float] | None]


class FakeLLM:
    """Pops one queued answer (a dict, validated with the real context) per structured call;
    answers one-token probes with ``probe`` (messages -> option probabilities, or None for a
    provider without log-probabilities; default: every option equally likely)."""

    def __init__(
        self, answers: dict[str, list[dict[str, Any]]], probe: Probe | None = None
    ) -> None:
        self.answers = answers
        self.probe_answer = probe
        self.calls: list[tuple[str, list[dict[str, str]]]] = []
        self.schemas: dict[str, dict[str, Any]] = {}  # the last response schema per stage

    async def structured(
        self,
        stage: str,
        response_model: type[T],
        messages: list[dict[str, str]],
        context: dict[str, Any] | None = None,
    ) -> tuple[T, StageMetrics]:
        self.calls.append((stage, messages))
        self.schemas[stage] = response_model.model_json_schema()
        answer = self.answers[stage].pop(0)
        result = response_model.model_validate(answer, context=context)
        return result, StageMetrics(stage=stage, calls=1, prompt_tokens=100, completion_tokens=10)

    async def probe(
        self, stage: str, messages: list[dict[str, str]], options: Sequence[str]
    ) -> tuple[dict[str, float] | None, StageMetrics]:
        self.calls.append((f"{stage}:probe", messages))
        if self.probe_answer is not None:
            probs = self.probe_answer(messages)
        else:
            probs = {o: 1 / len(options) for o in options}
        return probs, StageMetrics(stage=stage, calls=1, prompt_tokens=50, completion_tokens=1)
