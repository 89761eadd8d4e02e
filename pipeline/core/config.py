"""Configuration: defaults < TOML file < NEWSAUDIT_* environment variables < CLI flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.core.errors import ConfigError

EMBEDDED_PREFIX = "embedded/"
DEFAULT_CONFIG_FILE = "newsaudit.toml"
Mode = Literal["json_schema", "tools", "json", "md_json"]
JsonOutput = Literal["compact", "schema"]
SECRET_WORDS = ("api_key", "apikey", "secret", "token", "password")


class ServerSettings(BaseSettings):
    """How the embedded llama-server is run."""

    model_config = SettingsConfigDict(extra="forbid")

    binary: Path | None = Field(None, description="llama-server binary; default: setup-local's")
    gguf: Path | None = Field(None, description="any GGUF file; default: the pinned weights")
    host: str = "127.0.0.1"
    port: int = Field(0, description="0 picks a free port")
    ctx_size: int = 8192
    threads: int = 2
    startup_timeout_s: float = 120.0


class StorySettings(BaseSettings):
    """How `newsaudit story` matches claims across sources."""

    model_config = SettingsConfigDict(extra="forbid")

    embeddings: bool = Field(
        True,
        description="pre-group claims by sentence embeddings (all-MiniLM-L6-v2, installed by "
        "setup-local); false: only near-identical wording is pre-grouped",
    )
    similarity: float = Field(
        0.7, gt=0, le=1, description="cosine at which two sources' quotes are candidate matches"
    )
    floor: float = Field(
        0.6,
        ge=0,
        le=1,
        description="least similarity of a claim the model joins to a fact beyond the "
        "candidates (guards against groupings the quotes do not bear out)",
    )
    event_similarity: float = Field(
        0.5,
        ge=0,
        le=1,
        description="a source whose event (who met, where) has a mean similarity below this "
        "to the other sources' events is reported as describing a different event",
    )


class JudgmentSettings(BaseSettings):
    """How sentences are labelled and slant is found (defaults: the fitted values)."""

    model_config = SettingsConfigDict(extra="forbid")

    model_signal: Literal["auto", "logprobs", "batch", "off"] = Field(
        "auto",
        description="how the model judges sentences: logprobs (one one-token question per "
        "sentence, read from log-probabilities; local servers), batch (one structured call "
        "for all sentences; hosted providers), off (classifier, cues and rules only); auto: "
        "logprobs for the embedded model and api_base servers, batch otherwise",
    )
    opinion_threshold: float | None = Field(
        None, ge=0, le=1, description="P(subjective) for an opinion; None: the fitted threshold"
    )
    evidence_similarity: float = Field(
        0.6,
        ge=0,
        le=1,
        description="cosine at which a sentence citing a named source backs an own-voice one",
    )
    max_flagged: int = Field(
        4, ge=0, le=50, description="most classifier-flagged slanted sentences reported"
    )
    max_reworded: int = Field(
        3,
        ge=0,
        le=50,
        description="most reported sentences the model rewords (about 50 completion tokens "
        "each); most framing spans first",
    )
    calibration: str = Field(
        "auto",
        description="which weights read the model's sentence answers: auto (the profile "
        "`newsaudit calibrate` wrote for this model and model_signal, if any, else the shipped "
        "weights), shipped, or a profile file's path",
    )
    max_questions: int = Field(
        40,
        ge=0,
        description="most one-letter questions per article (logprobs): past it, the model is "
        "asked about the sentences the classifier is least sure of",
    )


class BatchSettings(BaseSettings):
    """How `newsaudit batch` runs: articles in flight and the provider's rate limits."""

    model_config = SettingsConfigDict(extra="forbid")

    concurrency: int = Field(4, ge=1, le=1024, description="articles in flight at once")
    requests_per_minute: float | None = Field(
        None, gt=0, description="global cap on model requests (re-asks and retries included)"
    )
    tokens_per_minute: int | None = Field(
        None, gt=0, description="global cap on prompt + completion tokens"
    )
    cache: bool = Field(True, description="reuse validated stage outputs from earlier runs")
    log_every_s: float = Field(30.0, gt=0, description="progress line interval when not a TTY")
    story_field: str | None = Field(
        None,
        description="record field holding a story id: after the batch, the reports that "
        "share one are compared like `newsaudit story` (OUT/stories/<id>/)",
    )
    processes: int | None = Field(
        None,
        ge=1,
        le=256,
        description="local engine: worker processes sharing the rpm/tpm budget; default: the "
        "cores, with at least 32 articles in flight each (one for the embedded model)",
    )
    ray_actors: int = Field(2, ge=1, description="--engine ray: actors, one LLM client each")
    ray_cpus_per_actor: float = Field(
        0.5, gt=0, description="--engine ray: CPUs reserved per actor (the work waits on I/O)"
    )


class Settings(BaseSettings):
    """Everything a run needs; secrets are never fields, they stay in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSAUDIT_", env_nested_delimiter="__", extra="forbid"
    )

    model: str = Field(
        "embedded/qwen2.5-coder-1.5b",
        description="litellm model string (openai/gpt-4o-mini, anthropic/..., ollama_chat/...) "
        "or embedded/<weights> for the local llama-server",
    )
    api_base: str | None = None
    api_key_env: str | None = Field(
        None, description="name of the environment variable that holds the key, if non-standard"
    )
    mode: Mode | None = Field(None, description="instructor mode; None picks one per model")
    model_modes: dict[str, Mode] = Field(
        default_factory=dict, description="instructor mode per model-string prefix"
    )
    json_output: JsonOutput | None = Field(
        None,
        description="how structured answers are constrained: compact (a grammar built from the "
        "JSON schema that allows no whitespace, sent as llama.cpp's `grammar` field; llama.cpp "
        "servers only; measure your model with it first) or schema (the JSON schema as the "
        "instructor mode sends it); None: model_json_outputs, else schema",
    )
    model_json_outputs: dict[str, JsonOutput] = Field(
        default_factory=dict, description="json_output per model-string prefix"
    )
    temperature: float = 0.0
    reask_temperature: float = Field(0.4, description="temperature used on validation re-asks")
    seed: int | None = 42
    max_tokens: int = 2048
    max_reasks: int = Field(1, ge=0, le=5, description="instructor validation re-asks per call")
    retry_attempts: int = Field(5, ge=1, le=20, description="transport attempts per call")
    retry_initial_s: float = 1.0
    retry_max_s: float = 30.0
    timeout_s: float = 600.0
    max_claims: int = Field(8, ge=1, le=50)
    max_chunk_tokens: int = Field(
        3000, ge=200, description="article tokens per call; longer articles are split in parts"
    )
    max_chunks: int = Field(
        4, ge=1, le=100, description="most parts an article may be split into; beyond: refused"
    )
    quote_snap_threshold: float = Field(90.0, ge=50, le=100)
    server: ServerSettings = Field(default_factory=ServerSettings)
    batch: BatchSettings = Field(default_factory=BatchSettings)
    story: StorySettings = Field(default_factory=StorySettings)
    judgments: JudgmentSettings = Field(default_factory=JudgmentSettings)

    @field_validator("model")
    @classmethod
    def _model_has_provider(cls, value: str) -> str:
        if "/" not in value:
            raise ValueError(f"model {value!r} needs a provider prefix, e.g. openai/{value}")
        return value

    @property
    def embedded(self) -> bool:
        """True when the model is the embedded local llama-server."""
        return self.model.startswith(EMBEDDED_PREFIX)

    @property
    def serves_other_weights(self) -> bool:
        """The embedded model string, serving a GGUF file other than its pinned weights."""
        return self.embedded and self.server.gguf is not None

    def model_signal(self) -> Literal["logprobs", "batch", "off"]:
        """The configured way the model judges sentences, auto resolved."""
        chosen = self.judgments.model_signal
        if chosen != "auto":
            return chosen
        return "logprobs" if self.embedded or self.api_base is not None else "batch"

    def instructor_mode(self) -> Mode:
        """The configured mode, else a prefix match, else json_schema locally and tools hosted."""
        if self.mode:
            return self.mode
        for prefix, mode in sorted(self.model_modes.items(), key=lambda kv: -len(kv[0])):
            if self.model.startswith(prefix):
                return mode
        local = self.embedded or self.api_base is not None
        return "json_schema" if local else "tools"

    def json_output_for(self) -> JsonOutput:
        """The configured json_output, else a prefix match, else schema. Compact is opt-in for
        every model, the embedded one included: on the embedded 1.5B model it changed the
        answers for the worse (docs/measurements.md#compact-json), and a server is only known
        to take a grammar when the config says so."""
        if self.json_output:
            return self.json_output
        for prefix, chosen in sorted(self.model_json_outputs.items(), key=lambda kv: -len(kv[0])):
            if self.model.startswith(prefix):
                return chosen
        return "schema"


def _reject_secrets(data: dict[str, Any], path: Path) -> None:
    for key in data:
        if any(word in key.lower() for word in SECRET_WORDS) and key != "api_key_env":
            raise ConfigError(
                f"{path}: '{key}' looks like a secret; keys belong in the environment, "
                "name the variable with api_key_env instead"
            )


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Load settings from the TOML file (if any), the environment and explicit overrides."""
    path = Path(config_file or os.environ.get("NEWSAUDIT_CONFIG") or DEFAULT_CONFIG_FILE)
    if config_file and not path.exists():
        raise ConfigError(f"{path}: config file not found")
    toml_path = path if path.exists() else None

    class _FileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if toml_path is not None:
                toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
                _reject_secrets(toml.toml_data, toml_path)
                sources.append(toml)
            return tuple(sources)

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings.model_validate(_FileSettings(**clean).model_dump())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{toml_path or 'config'}: {where}: {first['msg']}") from exc
