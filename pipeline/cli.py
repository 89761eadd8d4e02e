"""The newsaudit command line: a thin layer over the library, mapping errors to exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pipeline.config import Settings, load_settings
from pipeline.errors import NewsauditError
from pipeline.ingest import read_document
from pipeline.llm import describe_failure
from pipeline.local_model import DEFAULT_WEIGHTS, setup_local
from pipeline.report import to_json, to_markdown
from pipeline.run import audit, open_llm
from pipeline.server import LocalServer
from schemas.report import ArticleReport

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


class Format(StrEnum):
    """Report formats for stdout."""

    markdown = "markdown"
    json = "json"


ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML config file")]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="litellm model string, or embedded/<weights>")
]
ApiBaseOpt = Annotated[str | None, typer.Option("--api-base", help="OpenAI-compatible API root")]


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _settings(config: Path | None, model: str | None, api_base: str | None) -> Settings:
    return load_settings(config, model=model, api_base=api_base)


def _fail(exc: Exception) -> typer.Exit:
    code = exc.exit_code if isinstance(exc, NewsauditError) else 1
    _err(f"newsaudit: error: {describe_failure(exc)}")
    return typer.Exit(code)


@app.command()
def check(
    article: Annotated[
        str, typer.Argument(help="article file (.txt, .html, .json) or - for stdin")
    ],
    fmt: Annotated[Format, typer.Option("--format", help="what goes to stdout")] = Format.markdown,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write JSON here")] = None,
    config: ConfigOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress on stderr")] = False,
) -> None:
    """Audit one article and print its report."""
    try:
        settings = _settings(config, model, api_base)
        doc = read_document(article)
        progress = (lambda _m: None) if quiet else (lambda m: _err(f"newsaudit: {m}"))
        if settings.embedded and not quiet:
            _err(f"newsaudit: starting the embedded model ({settings.model})")
        with open_llm(settings) as llm:
            report = asyncio.run(audit(doc, llm=llm, settings=settings, progress=progress))
    except NewsauditError as exc:
        raise _fail(exc) from None
    if json_path is not None:
        json_path.write_text(to_json(report) + "\n", encoding="utf-8")
    typer.echo(to_json(report) if fmt is Format.json else to_markdown(report), nl=False)
    if not quiet:
        total = report.totals()
        _err(
            f"newsaudit: done in {report.seconds_total:.0f} s, {total.calls} calls, "
            f"{total.prompt_tokens}+{total.completion_tokens} tokens"
        )


@app.command()
def render(
    report: Annotated[Path, typer.Argument(help="a JSON report written by check")],
) -> None:
    """Print a saved JSON report as Markdown."""
    try:
        text = report.read_text(encoding="utf-8")
        parsed = ArticleReport.model_validate_json(text)
    except (OSError, ValueError) as exc:
        _err(f"newsaudit: error: {report}: not a readable report: {describe_failure(exc)}")
        raise typer.Exit(2) from None
    typer.echo(to_markdown(parsed), nl=False)


@app.command("setup-local")
def setup_local_cmd(
    weights: Annotated[str, typer.Option(help="which pinned weights")] = DEFAULT_WEIGHTS,
) -> None:
    """Install the embedded model: download and verify weights, compile llama-server."""
    try:
        setup_local(weights, log=lambda m: _err(f"newsaudit: {m}"))
    except NewsauditError as exc:
        raise _fail(exc) from None


@app.command()
def serve(config: ConfigOpt = None, model: ModelOpt = None) -> None:
    """Keep the embedded model server running for repeated use (Ctrl-C stops it)."""
    try:
        settings = _settings(config, model, None)
        if not settings.embedded:
            raise typer.BadParameter(f"{settings.model} is not an embedded model")
        with LocalServer(settings.model, settings.server) as server:
            _err(f"newsaudit: serving {server.litellm_model} at {server.base_url}")
            model, base = server.litellm_model, server.base_url
            typer.echo(f"export NEWSAUDIT_MODEL={model} NEWSAUDIT_API_BASE={base}")
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            with contextlib.suppress(KeyboardInterrupt):
                server.process.wait() if server.process else None
    except NewsauditError as exc:
        raise _fail(exc) from None


if __name__ == "__main__":  # pragma: no cover
    app()
