"""The judgment commands: `newsaudit verify` (statements against an article) and
`newsaudit eval` (a judgment measured on labelled rows)."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import ApiBaseOpt, ConfigOpt, Format, ModelOpt, err, fail, settings_from
from pipeline.cli.progress import EvalProgress
from pipeline.core.config import Settings
from pipeline.core.errors import ConfigError, InputError, NewsauditError
from pipeline.evaluation.metrics import EvalSummary, render_summary
from pipeline.evaluation.rows import Row, evaluate, read_rows
from pipeline.evaluation.scorers import make_scorer, make_span_scorer
from pipeline.evaluation.span_metrics import SpanSummary, render_span_summary
from pipeline.evaluation.spans import SpanRow, evaluate_spans, read_span_rows
from pipeline.model.llm import LLM
from pipeline.report import verify_to_markdown
from pipeline.run import open_llm
from pipeline.run import verify as run_verify
from pipeline.text.ingest import read_document, read_statements


class Task(StrEnum):
    """What `newsaudit eval` measures."""

    bias = "bias"
    faithfulness = "faithfulness"
    spans = "spans"


def verify(
    article: Annotated[
        str, typer.Argument(help="article file (.txt, .html, .json) or - for stdin")
    ],
    statements: Annotated[
        str | None,
        typer.Option(
            "--statements",
            help="file of statements (one per line, or a JSON list of strings); - for stdin",
        ),
    ] = None,
    headline: Annotated[
        bool, typer.Option("--headline", help="also check the article's own headline")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="what goes to stdout")] = Format.markdown,
    config: ConfigOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
) -> None:
    """Check statements against an article: does it say what they say?

    For each statement: supported, not supported or contradicted, the probability that the
    article supports it, and the article's sentences it was checked against.
    """
    try:
        if statements is None and not headline:
            raise InputError("give --statements FILE (or -), --headline, or both")
        if statements == "-" and article == "-":
            raise InputError("the article and the statements cannot both come from stdin")
        settings = settings_from(config, model, api_base)
        asked = read_statements(statements) if statements is not None else []
        doc = read_document(article)
        with open_llm(settings) as llm:
            report = asyncio.run(
                run_verify(doc, asked, llm=llm, settings=settings, headline=headline)
            )
    except NewsauditError as exc:
        raise fail(exc) from None
    text = (
        report.model_dump_json(indent=2) + "\n"
        if fmt is Format.json
        else verify_to_markdown(report)
    )
    typer.echo(text, nl=False)


def eval_cmd(
    rows_file: Annotated[
        Path, typer.Argument(metavar="FILE", help="labelled rows, one JSON object per line")
    ],
    task: Annotated[Task, typer.Option("--task", help="which judgment the rows label")],
    out: Annotated[Path, typer.Option("--out", help="predictions (JSONL), resumed when it exists")],
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="pred = score >= this; spans: keep a span whose score >= this "
            "(default: the scorer's)",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="only the first N rows")] = None,
    config: ConfigOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
) -> None:
    """Score labelled rows with one of newsaudit's judgments and print n, balanced accuracy,
    macro-F1 and AUC with bootstrap 95% intervals, and the confusion table.

    Rows: {"id","text","label"} for bias (true = slanted or subjective sentence),
    {"id","document","claim","label"} for faithfulness (true = the document supports the
    claim). Writes one {"id","score","pred"} line per row to --out; rerunning the same command
    skips the ids already there.

    spans: rows {"id","text","spans":[[start,end],...]} (character offsets into text); writes
    {"id","spans","scores"} lines and prints span recall, span precision, F1 and false alarms
    (no model is started).
    """
    try:
        settings = settings_from(config, model, api_base)
        if task is Task.spans:
            text = render_span_summary(
                _eval_spans(read_span_rows(rows_file, limit), out, settings, threshold)
            )
        else:
            rows = read_rows(rows_file, task.value, limit)
            with open_llm(settings) as llm:
                text = render_summary(_eval(rows, task.value, out, llm, settings, threshold))
    except NewsauditError as exc:
        if out.exists() and not isinstance(exc, InputError | ConfigError):
            warn(f"predictions so far are kept in {out}; rerun the same command to resume")
        raise fail(exc) from None
    typer.echo(text, nl=False)


def _eval(
    rows: list[Row], task: str, out: Path, llm: LLM, settings: Settings, threshold: float | None
) -> EvalSummary:
    scorer, default = make_scorer(task, llm, settings)
    chosen = default if threshold is None else threshold
    with EvalProgress(every_s=settings.batch.log_every_s) as progress:
        return asyncio.run(
            evaluate(rows, scorer, out, task=task, threshold=chosen, progress=progress, log=warn)
        )


def _eval_spans(
    rows: list[SpanRow], out: Path, settings: Settings, threshold: float | None
) -> SpanSummary:
    # The tagger needs no model: none is opened (an embedded one would start a server).
    scorer, default = make_span_scorer(Task.spans.value, None, settings)
    chosen = default if threshold is None else threshold
    with EvalProgress(every_s=settings.batch.log_every_s) as progress:
        return asyncio.run(evaluate_spans(rows, scorer, out, threshold=chosen, progress=progress))


def warn(message: str) -> None:
    """A note from `newsaudit eval` on stderr."""
    err(f"newsaudit: eval: {message}")


def register(app: typer.Typer) -> None:
    """Add the judgment commands to the command line."""
    app.command()(verify)
    app.command("eval")(eval_cmd)
