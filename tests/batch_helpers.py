"""What the batch tests share: settings against the fake server, input folders and the
batch's output files read back."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from pipeline.batch import ERRORS, REPORTS, BatchRun
from pipeline.core.config import BatchSettings, JudgmentSettings, Settings
from tests.conftest import SEEDS, SEEDS_DIR
from tests.fake_server import FakeServer, synthetic_records

SYNTHETIC = 6


def settings_for(server: FakeServer, **batch: Any) -> Settings:
    return Settings(
        model="openai/fake-model",
        api_base=server.base_url,
        retry_attempts=3,
        retry_initial_s=0.01,
        retry_max_s=0.05,
        batch=BatchSettings(**{"concurrency": 4, **batch}),
        judgments=JudgmentSettings(model_signal="batch"),  # one call per stage, as hosted
    )


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def input_dir(tmp_path: Path, synthetic: int = SYNTHETIC) -> Path:
    """The five seed files plus a JSONL file of synthetic records."""
    folder = tmp_path / "in"
    folder.mkdir()
    for seed in SEEDS:
        shutil.copy(SEEDS_DIR / seed, folder / seed)
    write_jsonl(folder / "synthetic.jsonl", synthetic_records(synthetic))
    return folder


def run_batch(settings: Settings, source: Path | str, out: Path, **kwargs: Any) -> Any:
    return asyncio.run(BatchRun(settings, str(source), out, **kwargs).run())


def reports_in(out: Path) -> list[dict[str, Any]]:
    lines = (out / REPORTS).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def errors_in(out: Path) -> list[dict[str, Any]]:
    path = out / ERRORS
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
