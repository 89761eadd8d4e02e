"""On-disk cache of validated stage outputs, so a rerun with nothing changed makes no model call.

A stage's key hashes everything its answer depends on: the stage and its output schema, the
exact messages sent (the rendered prompt, so the article and any earlier stage's output they
carry), the run fingerprint (model and sampling parameters, newsaudit version) and the prompt
hashes of the stages it builds on. Changing one prompt therefore reruns that stage and the
stages that use its output (support uses claims), and nothing else. Only validated answers are
stored; entries are written atomically, so a killed run never leaves a torn one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline import __version__
from pipeline.core.config import Settings
from pipeline.signals.calibration import sentence_calibration
from pipeline.stages import StructuredLLM
from schemas.report import StageMetrics

T = TypeVar("T", bound=BaseModel)

# Counters of work done; a cache hit reports zero of each for this run.
WORK_FIELDS = ("calls", "reasks", "transport_retries", "prompt_tokens", "completion_tokens")


def digest(value: Any) -> str:
    """sha256 of a JSON-serialisable value, with sorted keys."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_fingerprint(settings: Settings) -> dict[str, Any]:
    """What, besides the prompts, decides a model's answers (not where the server listens)."""
    return {
        "newsaudit": __version__,
        "model": settings.model,
        "mode": settings.instructor_mode(),
        "json_output": settings.json_output_for(),
        "temperature": settings.temperature,
        "reask_temperature": settings.reask_temperature,
        "seed": settings.seed,
        "max_tokens": settings.max_tokens,
        "max_reasks": settings.max_reasks,
        "max_claims": settings.max_claims,
        "max_chunk_tokens": settings.max_chunk_tokens,
        "quote_snap_threshold": settings.quote_snap_threshold,
        "gguf": str(settings.server.gguf) if settings.embedded and settings.server.gguf else None,
        "calibration": sentence_calibration(settings).label,
    }


@cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


class StageCache:
    """JSON files under ``root/ab/abcd....json``, one per stage answer."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry, or None when absent or unreadable (then the stage simply reruns)."""
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Write an entry atomically (temporary file, then rename)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class CachedLLM:
    """A StructuredLLM that answers from the cache when it can and stores what it computes."""

    def __init__(self, inner: StructuredLLM, cache: StageCache, settings: Settings) -> None:
        self.inner = inner
        self.cache = cache
        self.fingerprint = run_fingerprint(settings)
        self.hits = 0
        self.misses = 0

    def key(self, stage: str, response_model: type[BaseModel], messages: Any) -> str:
        """The cache key of one stage call."""
        return digest(
            {
                "stage": stage,
                "schema": _schema(response_model),
                "messages": messages,
                "run": self.fingerprint,
            }
        )

    async def structured(
        self,
        stage: str,
        response_model: type[T],
        messages: list[dict[str, str]],
        context: dict[str, Any] | None = None,
    ) -> tuple[T, StageMetrics]:
        """The cached answer for these exact messages, else the inner llm's (then stored)."""
        key = self.key(stage, response_model, messages)
        entry = self.cache.get(key)
        if entry is not None:
            try:
                # Stored answers were verified against the article when they were made.
                result = response_model.model_validate(entry["result"])
                metrics = StageMetrics.model_validate(entry["metrics"])
            except (KeyError, ValidationError):
                pass  # an entry from an incompatible version: recompute and overwrite
            else:
                self.hits += 1
                for name in WORK_FIELDS:
                    setattr(metrics, name, 0)
                metrics.cost_usd, metrics.seconds, metrics.cached = None, 0.0, True
                return result, metrics
        self.misses += 1
        result, metrics = await self.inner.structured(stage, response_model, messages, context)
        self.cache.put(
            key, {"result": result.model_dump(mode="json"), "metrics": metrics.model_dump()}
        )
        return result, metrics

    async def probe(
        self, stage: str, messages: list[dict[str, str]], options: Sequence[str]
    ) -> tuple[dict[str, float] | None, StageMetrics]:
        """The cached option probabilities for these exact messages, else the inner llm's."""
        key = digest(
            {
                "probe": stage,
                "options": list(options),
                "messages": messages,
                "run": self.fingerprint,
            }
        )
        entry = self.cache.get(key)
        if entry is not None and "probs" in entry:
            self.hits += 1
            return entry["probs"], StageMetrics(stage=stage, cached=True)
        self.misses += 1
        probs, metrics = await self.inner.probe(stage, messages, options)
        if probs is not None:
            self.cache.put(key, {"probs": probs})
        return probs, metrics
