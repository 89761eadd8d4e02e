"""`newsaudit calibrate`: fit the sentence labels' combination to the configured model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import ApiBaseOpt, ConfigOpt, ModelOpt, err, fail, settings_from
from pipeline.cli.progress import CalibrateProgress
from pipeline.core.errors import ConfigError, InputError, NewsauditError
from pipeline.evaluation.calibrate import (
    answers_file,
    ask,
    ask_statements,
    calibration_data,
    estimate_cost,
    estimate_statement_cost,
    fit_profile,
    list_profiles,
    render_profile,
    statement_data,
    write_profile,
)
from pipeline.run import open_llm
from pipeline.signals.calibration import calibration_note


def calibrate(
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data",
            metavar="FILE",
            help="your own labelled rows ({id, text, label} per line, as `eval --task bias`), "
            "fitted on with the shipped NewsSD-ENG train + val; repeatable",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(min=40, help="fit on a seeded sample of N rows (default: all of them)"),
    ] = None,
    test: Annotated[
        bool, typer.Option(help="also score the shipped NewsSD-ENG test split (never fitted)")
    ] = True,
    statements: Annotated[
        bool,
        typer.Option(
            help="also fit the statement checker of verify and the summary check, on the "
            "shipped SummEdits news summaries and yours (off by default: weights fitted on "
            "them help edited and abstractive statements and hurt near-extractive ones, "
            "docs/measurements.md)"
        ),
    ] = False,
    statement_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--statement-data",
            metavar="FILE",
            help="your own statement rows ({id, document, claim, label}, as `eval --task "
            "faithfulness`); repeatable",
        ),
    ] = None,
    statement_limit: Annotated[
        int | None,
        typer.Option(min=40, help="fit the statement checker on a seeded sample of N statements"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="write the profile here (default: the profiles folder)"),
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="list the profiles and whether their prompts are current")
    ] = False,
    config: ConfigOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
) -> None:
    """Fit how the sentence labels (and, with --statements, the statement checker) read the
    configured model's answers, and write a profile the pipeline loads for that model from
    then on.

    The model is asked the question the pipeline asks about each own-voice sentence (from
    log-probabilities, or the batch form where the config's judgments.model_signal is batch) on
    the shipped NewsSD-ENG rows and yours, and with --statements the question `verify` asks
    about a statement on the shipped SummEdits news summaries and yours; answers are cached as
    they arrive, so rerunning the same command resumes. Prints the profile's out-of-fold
    figures against the shipped weights' on the same rows, and both on the NewsSD-ENG test
    split.
    """
    if list_:
        typer.echo(list_profiles(), nl=False)
        return
    try:
        settings = settings_from(config, model, api_base)
        signal = settings.model_signal()
        if signal == "off":
            raise ConfigError(
                'model_signal = "off": the model is not asked about sentences, so there is '
                "nothing to calibrate"
            )
        custom = settings.serves_other_weights
        if calibration_note(settings.model, custom_weights=custom, signal=signal) is None:
            err(
                "newsaudit: calibrate: note: the shipped weights were fitted on this model's "
                "answers; a profile of its own differs from them by the noise of the fit "
                "(docs/measurements.md)"
            )
        chosen = calibration_data(data or [], limit=limit, test=test)
        rows, cache = chosen.asked(), answers_file(settings.model, signal)
        said = statement_data(statement_files or [], limit=statement_limit) if statements else None
        with open_llm(settings, calibrating=True) as llm:
            cost = estimate_cost(rows, signal, llm.price)
            err(f"newsaudit: calibrate: {settings.model} ({signal}), sentences: {cost}")
            if said is not None:
                cost = estimate_statement_cost(said.rows, signal, llm.price)
                err(f"newsaudit: calibrate: statements: {cost}")
            every = settings.batch.log_every_s
            with CalibrateProgress(every_s=every) as progress:
                answers = asyncio.run(ask(rows, llm, signal, cache, progress=progress, log=err))
            answered = None
            if said is not None:
                stored = answers_file(settings.model, signal, statements=True)
                with CalibrateProgress(every_s=every) as progress:
                    progress.noun = "statements"
                    answered = asyncio.run(
                        ask_statements(said.rows, llm, signal, stored, progress=progress, log=err)
                    )
        profile = fit_profile(
            chosen,
            answers,
            model=settings.model,
            signal=signal,
            statements=(said, answered) if said is not None and answered is not None else None,
        )
        path = write_profile(profile, out)
    except NewsauditError as exc:
        if not isinstance(exc, InputError | ConfigError):
            err("newsaudit: calibrate: answers so far are cached; rerun the command to resume")
        raise fail(exc) from None
    typer.echo(render_profile(profile, path), nl=False)


def register(app: typer.Typer) -> None:
    """Add `calibrate` to the CLI."""
    app.command("calibrate")(calibrate)
