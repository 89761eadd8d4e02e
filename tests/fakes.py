"""A fake llm for stage logic tests: returns queued answers, validated like the real adapter."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from schemas.report import StageMetrics

T = TypeVar("T", bound=BaseModel)


class FakeLLM:
    """Pops one queued answer (a dict, validated with the real context) per structured call."""

    def __init__(self, answers: dict[str, list[dict[str, Any]]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, list[dict[str, str]]]] = []

    async def structured(
        self,
        stage: str,
        response_model: type[T],
        messages: list[dict[str, str]],
        context: dict[str, Any] | None = None,
    ) -> tuple[T, StageMetrics]:
        self.calls.append((stage, messages))
        answer = self.answers[stage].pop(0)
        result = response_model.model_validate(answer, context=context)
        return result, StageMetrics(stage=stage, calls=1, prompt_tokens=100, completion_tokens=10)
