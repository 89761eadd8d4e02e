"""The newsaudit command line: a thin layer over the library, mapping errors to exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pipeline.batch import BatchRun, BatchStats
from pipeline.cli.calibrate import register as register_calibrate
from pipeline.cli.common import ApiBaseOpt, ConfigOpt, Format, ModelOpt, err, fail, settings_from
from pipeline.cli.digest import register as register_digest
from pipeline.cli.history import HistoryOpt, after_batch
from pipeline.cli.history import register as register_history
from pipeline.cli.judge import register
from pipeline.cli.progress import BatchProgress
from pipeline.core.config import Settings
from pipeline.core.errors import LockedError, NewsauditError
from pipeline.model.llm import LLM, describe_failure
from pipeline.model.local_model import DEFAULT_WEIGHTS, setup_local
from pipeline.model.server import LocalServer
from pipeline.report import (
    story_to_markdown,
    to_html,
    to_json,
    to_markdown,
    write_story,
)
from pipeline.run import audit, open_llm
from pipeline.stages.story import compare_story
from pipeline.text.ingest import RawDocument, read_document
from schemas.report import ArticleReport
from schemas.story import StoryReport

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


EXIT_SOME_FAILED = 7


class Engine(StrEnum):
    """Where a batch runs."""

    local = "local"
    ray = "ray"


class BatchFormat(StrEnum):
    """Report file formats of a batch."""

    jsonl = "jsonl"
    parquet = "parquet"


@app.command()
def check(
    article: Annotated[
        str, typer.Argument(help="article file (.txt, .html, .json) or - for stdin")
    ],
    fmt: Annotated[Format, typer.Option("--format", help="what goes to stdout")] = Format.markdown,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write JSON here")] = None,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="also write a self-contained HTML page here")
    ] = None,
    config: ConfigOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress on stderr")] = False,
) -> None:
    """Audit one article and print its report."""
    try:
        settings = settings_from(config, model, api_base)
        doc = read_document(article)
        progress = (lambda _m: None) if quiet else (lambda m: err(f"newsaudit: {m}"))
        if settings.embedded and not quiet:
            err(f"newsaudit: starting the embedded model ({settings.model})")
        with open_llm(settings) as llm:
            report = asyncio.run(audit(doc, llm=llm, settings=settings, progress=progress))
    except NewsauditError as exc:
        raise fail(exc) from None
    if json_path is not None:
        json_path.write_text(to_json(report) + "\n", encoding="utf-8")
    if html_path is not None:
        html_path.write_text(to_html(report), encoding="utf-8")
    typer.echo(to_json(report) if fmt is Format.json else to_markdown(report), nl=False)
    if not quiet:
        total = report.totals()
        err(
            f"newsaudit: done in {report.seconds_total:.0f} s, {total.calls} calls, "
            f"{total.prompt_tokens}+{total.completion_tokens} tokens"
        )


@app.command()
def batch(
    source: Annotated[
        str,
        typer.Argument(
            metavar="INPUT", help="a JSONL file of records, a directory of articles, or a glob"
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="output directory")],
    fmt: Annotated[
        BatchFormat, typer.Option("--format", help="reports as JSONL, or Parquet as well")
    ] = BatchFormat.jsonl,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", min=1, help="articles in flight")
    ] = None,
    rpm: Annotated[float | None, typer.Option("--rpm", help="requests per minute cap")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="tokens per minute cap")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="ignore the stage cache")] = False,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=1,
            help="local engine: worker processes sharing -j and the rpm/tpm budget "
            "(default: the cores, at least 32 articles in flight each)",
        ),
    ] = None,
    engine: Annotated[
        Engine, typer.Option("--engine", help="local asyncio workers, or Ray Data actors")
    ] = Engine.local,
    address: Annotated[
        str | None,
        typer.Option("--address", help="--engine ray: cluster to join (ray://host:10001, auto)"),
    ] = None,
    actors: Annotated[
        int | None, typer.Option("--actors", min=1, help="--engine ray: actors (LLM clients)")
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="stage cache (default: OUT/cache)")
    ] = None,
    story_field: Annotated[
        str | None,
        typer.Option(
            "--story",
            metavar="FIELD",
            help="record field holding a story id: reports sharing one are compared "
            "afterwards into OUT/stories/<id>/",
        ),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="when another run holds OUT, wait for it to end instead of exiting 8"
        ),
    ] = False,
    wait_timeout: Annotated[
        float | None,
        typer.Option(
            "--wait-timeout",
            min=0,
            metavar="SECONDS",
            help="--wait at most this long, then exit 8",
        ),
    ] = None,
    history: HistoryOpt = None,
    config: ConfigOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only the final line")] = False,
) -> None:
    """Audit many articles: resumable, cached, one report line per article.

    Rerunning the same command skips articles already reported. One run at a time per OUT:
    a second is refused (exit 8) unless --wait. Exit code 0 when every article has a report,
    7 when some failed (see OUT/errors.jsonl), 130/143 when interrupted.
    """
    batch_overrides = {
        key: value
        for key, value in {
            "concurrency": concurrency,
            "requests_per_minute": rpm,
            "tokens_per_minute": tpm,
            "cache": False if no_cache else None,
            "processes": processes,
            "ray_actors": actors,
            "story_field": story_field,
        }.items()
        if value is not None
    }
    try:
        settings = settings_from(config, model, api_base, batch=batch_overrides or None)
        run = BatchRun(
            settings,
            source,
            out,
            fmt=fmt.value,
            cache_dir=cache_dir,
            engine=engine.value,
            address=address,
            wait=wait_timeout if wait_timeout is not None else wait,
            notice=lambda m: err(f"newsaudit: batch: {m}"),
        )
        if settings.embedded and not quiet:
            err(f"newsaudit: starting the embedded model ({settings.model})")
        with BatchProgress(every_s=settings.batch.log_every_s) as progress:
            stats = asyncio.run(_interruptible(run, (lambda _s: None) if quiet else progress))
    except LockedError as exc:
        failed = fail(exc)
        if not (wait or wait_timeout):
            err("newsaudit: batch: one run at a time per --out; --wait waits for the other")
        raise failed from None
    except NewsauditError as exc:
        raise fail(exc) from None
    progress.final(stats)
    err(f"newsaudit: batch: reports in {out}, summary in {out / 'summary.json'}")
    if stats.stories or stats.stories_failed:
        err(f"newsaudit: batch: {stats.stories} stories compared in {out / 'stories'}")
    if stats.stories_failed:
        err(f"newsaudit: batch: {stats.stories_failed} stories failed, see their error.json")
    if stats.failed:
        err(f"newsaudit: batch: {stats.failed} articles failed, see {out / 'errors.jsonl'}")
    if history is not None:
        after_batch(history, out, settings.batch.story_field)
    if stats.failed or stats.stories_failed:
        raise typer.Exit(EXIT_SOME_FAILED)


async def _interruptible(run: BatchRun, progress: Callable[[BatchStats], None]) -> BatchStats:
    """Run the batch; SIGTERM/SIGINT stop it cleanly: lines written stay, in-flight ones go."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        if task is not None:
            task.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    try:
        return await run.run(progress)
    except asyncio.CancelledError:
        if not received:
            raise
        err(
            f"newsaudit: batch: interrupted by signal {received[0]}; rerun the same command "
            "to finish (done articles are kept)"
        )
        sys.stderr.flush()
        # HTTP calls (or a Ray read in its thread) may still be in flight; they are not wanted.
        os._exit(128 + received[0])


@app.command()
def story(
    articles: Annotated[list[str], typer.Argument(help="two or more article files on one story")],
    out: Annotated[Path, typer.Option("--out", help="output directory")],
    config: ConfigOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress on stderr")] = False,
) -> None:
    """Audit several articles on one story and compare them: who reports, contradicts or omits
    what, and how each frames it. Writes story.json, story.md and story.html (and each
    article's report) to --out."""
    if len(articles) < 2:
        raise typer.BadParameter("a story needs at least two articles")
    try:
        settings = settings_from(config, model, api_base)
        docs = [read_document(a) for a in articles]
        progress = (lambda _m: None) if quiet else (lambda m: err(f"newsaudit: {m}"))
        with open_llm(settings) as llm:
            reports, result = asyncio.run(_story(docs, llm, settings, progress))
    except NewsauditError as exc:
        raise fail(exc) from None
    out.mkdir(parents=True, exist_ok=True)
    for report in reports:
        (out / f"{report.article.id}.json").write_text(to_json(report) + "\n", encoding="utf-8")
    write_story(out, result)
    typer.echo(story_to_markdown(result), nl=False)


async def _story(
    docs: list[RawDocument], llm: LLM, settings: Settings, progress: Callable[[str], None]
) -> tuple[list[ArticleReport], StoryReport]:
    reports = [await audit(doc, llm=llm, settings=settings, progress=progress) for doc in docs]
    progress(f"comparing {len(reports)} sources")
    return reports, await compare_story(reports, llm=llm, settings=settings.story)


@app.command()
def render(
    report: Annotated[Path, typer.Argument(help="a JSON report written by check")],
    html: Annotated[bool, typer.Option("--html", help="HTML instead of Markdown")] = False,
) -> None:
    """Print a saved JSON report as Markdown (or as a self-contained HTML page)."""
    try:
        text = report.read_text(encoding="utf-8")
        parsed = ArticleReport.model_validate_json(text)
    except (OSError, ValueError) as exc:
        err(f"newsaudit: error: {report}: not a readable report: {describe_failure(exc)}")
        raise typer.Exit(2) from None
    typer.echo(to_html(parsed) if html else to_markdown(parsed), nl=False)


@app.command("setup-local")
def setup_local_cmd(
    weights: Annotated[str, typer.Option(help="which pinned weights")] = DEFAULT_WEIGHTS,
    embeddings_only: Annotated[
        bool,
        typer.Option(
            "--embeddings-only",
            help="only the sentence-embedding model (90 MB) and the grammar converter "
            "(compact JSON), not the language model or its server",
        ),
    ] = False,
) -> None:
    """Install the embedded models: download and verify weights, compile llama-server."""
    try:
        setup_local(weights, log=lambda m: err(f"newsaudit: {m}"), embeddings_only=embeddings_only)
    except NewsauditError as exc:
        raise fail(exc) from None


@app.command()
def serve(config: ConfigOpt = None, model: ModelOpt = None) -> None:
    """Keep the embedded model server running for repeated use (Ctrl-C stops it)."""
    try:
        settings = settings_from(config, model, None)
        if not settings.embedded:
            raise typer.BadParameter(f"{settings.model} is not an embedded model")
        with LocalServer(settings.model, settings.server) as server:
            err(f"newsaudit: serving {server.litellm_model} at {server.base_url}")
            model, base = server.litellm_model, server.base_url
            typer.echo(f"export NEWSAUDIT_MODEL={model} NEWSAUDIT_API_BASE={base}")
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            with contextlib.suppress(KeyboardInterrupt):
                server.process.wait() if server.process else None
    except NewsauditError as exc:
        raise fail(exc) from None


if __name__ == "__main__":  # pragma: no cover
    app()


register(app)  # verify and eval, after the commands above (pipeline/cli/judge.py)
register_digest(app)  # digest, from the nightly history (pipeline/cli/digest.py)
register_history(app)  # `newsaudit history` (pipeline/cli/history.py)
register_calibrate(app)  # `newsaudit calibrate` (pipeline/cli/calibrate.py)
