"""What every newsaudit command shares: output formats, the model options, settings and the
one-line error that maps a newsaudit error to its exit code."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pipeline.core.config import Settings, load_settings
from pipeline.core.errors import NewsauditError
from pipeline.model.llm import describe_failure


class Format(StrEnum):
    """Report formats for stdout."""

    markdown = "markdown"
    json = "json"


ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML config file")]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="litellm model string, or embedded/<weights>")
]
ApiBaseOpt = Annotated[str | None, typer.Option("--api-base", help="OpenAI-compatible API root")]


def err(message: str) -> None:
    """One line on stderr."""
    typer.echo(message, err=True)


def settings_from(
    config: Path | None, model: str | None, api_base: str | None, **overrides: object
) -> Settings:
    """The settings from the config file, the environment and the command's options."""
    return load_settings(config, model=model, api_base=api_base, **overrides)


def fail(exc: Exception) -> typer.Exit:
    """Print the error in one line (with what it had cost) and give its exit code."""
    code = exc.exit_code if isinstance(exc, NewsauditError) else 1
    where = ""
    if isinstance(exc, NewsauditError) and exc.spent:
        requests = sum(s.calls + s.transport_retries for s in exc.spent)
        tokens = sum(s.prompt_tokens + s.completion_tokens for s in exc.spent)
        where = f" (in {exc.stage}, after {requests} requests and {tokens} tokens)"
    err(f"newsaudit: error: {describe_failure(exc)}{where}")
    return typer.Exit(code)


def night_of(value: str | None) -> date | None:
    """A --night option (YYYY-MM-DD) as a date; None when not given."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date YYYY-MM-DD", param_hint="--night"
        ) from None
