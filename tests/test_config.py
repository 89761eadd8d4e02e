"""Config: defaults < TOML < environment < CLI flags; secrets refused in files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.config import load_settings
from pipeline.core.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEWSAUDIT_MODEL", "NEWSAUDIT_API_BASE", "NEWSAUDIT_CONFIG", "NEWSAUDIT_MODE"):
        monkeypatch.delenv(name, raising=False)


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsaudit.toml"
    path.write_text(text)
    return path


def test_defaults_use_the_embedded_model_in_json_schema_mode(tmp_path: Path) -> None:
    settings = load_settings("/dev/null")
    assert settings.embedded
    assert settings.instructor_mode() == "json_schema"


def test_precedence_file_env_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _toml(tmp_path, 'model = "openai/gpt-4o-mini"\nmax_claims = 5\n[server]\nthreads = 4\n')
    settings = load_settings(path)
    assert (settings.model, settings.max_claims, settings.server.threads) == (
        "openai/gpt-4o-mini",
        5,
        4,
    )
    assert settings.instructor_mode() == "tools"  # hosted provider, no api_base
    monkeypatch.setenv("NEWSAUDIT_MODEL", "anthropic/claude-3-5-haiku-latest")
    monkeypatch.setenv("NEWSAUDIT_API_BASE", "http://127.0.0.1:8000/v1")
    assert load_settings(path).model == "anthropic/claude-3-5-haiku-latest"
    flagged = load_settings(path, model="ollama_chat/qwen2.5:1.5b", api_base=None)
    assert flagged.model == "ollama_chat/qwen2.5:1.5b"
    assert flagged.api_base == "http://127.0.0.1:8000/v1"  # unset flags leave the env value
    assert flagged.instructor_mode() == "json_schema"  # a local server


def test_mode_per_model_prefix(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'model = "openai/gpt-4o"\n[model_modes]\n"openai/" = "json_schema"\n')
    assert load_settings(path).instructor_mode() == "json_schema"


def test_secret_in_config_file_is_refused(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'model = "openai/gpt-4o"\napi_key = "sk-abcdef"\n')
    with pytest.raises(ConfigError, match="looks like a secret; keys belong in the environment"):
        load_settings(path)


def test_invalid_values_name_the_file_and_field(tmp_path: Path) -> None:
    path = _toml(tmp_path, "max_reasks = 99\n")
    with pytest.raises(ConfigError, match=r"newsaudit.toml: max_reasks: "):
        load_settings(path)
    with pytest.raises(ConfigError, match="needs a provider prefix"):
        load_settings("/dev/null", model="gpt-4o")


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
