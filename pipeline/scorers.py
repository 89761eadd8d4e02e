"""Scorers for `newsaudit eval`, by task: each factory takes the open model and the settings and
returns the scorer (see ``pipeline.eval_rows.Scorer``) with its default threshold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.eval_rows import Scorer

ScorerFactory = Callable[[Any, Settings], tuple[Scorer, float]]

# Task name -> factory; the bias and faithfulness scorers register here.
SCORERS: dict[str, ScorerFactory] = {}


def make_scorer(task: str, llm: Any, settings: Settings) -> tuple[Scorer, float]:
    """The scorer of ``task`` over ``llm`` and its default threshold."""
    factory = SCORERS.get(task)
    if factory is None:
        raise ConfigError(f"no scorer for task {task!r}")
    return factory(llm, settings)
