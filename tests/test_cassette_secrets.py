"""Every committed cassette is free of credentials."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import CASSETTES, SECRET_HEADERS, SEEDS

KEY_PATTERNS = [
    re.compile(r"sk-[A-Za-z0-9_-]{16,}"),
    re.compile(r"sk-ant-[A-Za-z0-9_-]{16,}"),
    re.compile(r"AIza[0-9A-Za-z_-]{30,}"),
    re.compile(r"Bearer\s+\S+", re.IGNORECASE),
    re.compile(r"[?&](key|api_key|api-key)=", re.IGNORECASE),
]


def _cassettes() -> list[Path]:
    return sorted(CASSETTES.rglob("*.yaml"))


def test_there_is_a_cassette_for_every_seed() -> None:
    seeds = sorted(p.stem for p in CASSETTES.glob("*.yaml"))
    assert seeds == sorted(Path(s).stem for s in SEEDS)


@pytest.mark.parametrize("path", _cassettes(), ids=lambda p: p.name)
def test_cassette_has_no_secret_headers_or_keys(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for pattern in KEY_PATTERNS:
        assert not pattern.search(text), f"{path.name}: {pattern.pattern}"
    for interaction in yaml.safe_load(text)["interactions"]:
        for part in ("request", "response"):
            headers = {h.lower() for h in interaction[part].get("headers", {})}
            assert not headers & set(SECRET_HEADERS), f"{path.name} {part}: {headers}"
