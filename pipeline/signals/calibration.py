"""Which weights read the model's sentence answers: a calibration profile fitted to the
configured model by `newsaudit calibrate`, or the shipped weights; and the note a report and
stderr carry when another model's answers are read through weights not fitted on them.

Both shipped combinations, the sentence labels' (``combination.json``, ``train/combination.py``)
and the statement checker's (``faithfulness.json``, ``train/faithfulness.py``), were fitted on
the embedded 1.5B model's answer probabilities; each file names that model. Measured, the
embedded 0.5B model's answers give NewsSD-ENG test macro-F1 0.734 through the shipped sentence
weights and 0.780 through weights fitted on its own answers (docs/measurements.md); the batch
form's single answers (read as 0.85) are not what the shipped weights were fitted on.

A profile is a JSON file keyed by the model string and how the model is asked
(``model_signal``: logprobs or batch), in ``$NEWSAUDIT_CALIBRATION_DIR``, else
``$NEWSAUDIT_HOME/calibration``, else ``$XDG_DATA_HOME/newsaudit/calibration``, else
``~/.local/share/newsaudit/calibration``. It holds the fitted sentence combination (the same
form as combination.json), the hash of the prompt its answers came from, and its figures. A
profile whose prompt hash differs from the current prompt's is refused: its weights read
answers to a question the pipeline no longer asks.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.core.config import Settings
from pipeline.core.errors import ConfigError
from pipeline.model.prompts import prompt_hash
from pipeline.signals.subjectivity import Combination, combination_from, load_combination

log = logging.getLogger("newsaudit.judgments")
SENTENCES = ("combination.json", "sentence labels")
STATEMENTS = ("faithfulness.json", "statement checks")
PROFILE_FORMAT = 1
# The prompts whose answers each way of asking reads (prompts/*.j2): sentences, statements.
PROMPT_OF = {"logprobs": "sentence", "batch": "support"}
STATEMENT_PROMPT_OF = {"logprobs": "verify_article", "batch": "verify_all"}


def profiles_dir() -> Path:
    """Where `newsaudit calibrate` writes profiles and the answers it caches."""
    chosen = os.environ.get("NEWSAUDIT_CALIBRATION_DIR")
    if chosen:
        return Path(chosen)
    home = os.environ.get("NEWSAUDIT_HOME")
    if home:
        return Path(home) / "calibration"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "newsaudit" / "calibration"


def profile_file(model: str, signal: str) -> str:
    """The profile's file name for a model string and a way of asking it."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_.") or "model"
    return f"{slug}--{signal}.json"


@dataclass(frozen=True)
class Calibration:
    """The weights that read the model's sentence answers, and what the report calls them."""

    combination: Combination
    label: str
    path: Path | None = None
    statements: Combination | None = None  # the statement checker's, when the profile has it


@cache
def shipped() -> Calibration:
    """The shipped sentence combination (fitted on the embedded 1.5B model's answers)."""
    fitted = load_combination(SENTENCES[0])
    return Calibration(fitted, f"shipped ({fitted.meta.get('model', 'unknown model')})")


def _value(figure: Any) -> float | None:
    """A figure's value ([value, low, high] as calibrate writes it, or a number)."""
    value = figure[0] if isinstance(figure, list) and figure else figure
    return float(value) if isinstance(value, int | float) else None


def describe(raw: dict[str, Any], path: Path) -> str:
    """A profile as the report's run section names it."""
    oof = raw["sentences"].get("out_of_fold", {})
    f1 = _value(oof.get("macro_f1"))
    figure = f", out-of-fold macro-F1 {f1:.3f}" if f1 is not None else ""
    said = f"{path.name} (fitted {str(raw.get('fitted', '?'))[:10]}, n {oof.get('n', '?')}{figure}"
    statements = raw.get("statements", {}).get("out_of_fold", {})
    ba = _value(statements.get("balanced_accuracy"))
    if ba is not None:
        said += f"; statements n {statements.get('n', '?')}, balanced accuracy {ba:.3f}"
    return said + ")"


def read_profile(path: Path) -> dict[str, Any]:
    """A profile file, checked for its form; ConfigError naming the file and the problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: calibration profile not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: calibration profile unreadable: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != PROFILE_FORMAT:
        raise ConfigError(
            f"{path}: not a newsaudit calibration profile (format {PROFILE_FORMAT}); "
            "write one with `newsaudit calibrate`"
        )
    missing = [k for k in ("model", "signal", "prompt_hashes", "sentences") if k not in raw]
    if missing:
        raise ConfigError(f"{path}: calibration profile lacks {', '.join(missing)}")
    return raw


def stale_prompt(raw: dict[str, Any]) -> str | None:
    """A prompt whose text changed since the profile was fitted on its answers, or None."""
    wanted = [PROMPT_OF.get(str(raw["signal"]), str(raw["signal"]))]
    if "statements" in raw:
        wanted.append(STATEMENT_PROMPT_OF.get(str(raw["signal"]), str(raw["signal"])))
    hashes = raw["prompt_hashes"]
    for prompt in wanted:
        try:
            current = prompt_hash(prompt)
        except OSError:  # a way of asking this version does not know
            return prompt
        if not isinstance(hashes, dict) or hashes.get(prompt) != current:
            return prompt
    return None


def sentence_calibration(settings: Settings) -> Calibration:
    """The calibration the configured model's sentence answers are read through:
    ``[judgments] calibration`` = auto (the profile for this model string and way of asking,
    if one exists, else the shipped weights), shipped, or a profile's path. A profile fitted
    for other prompts, or for another model or way of asking, is refused (ConfigError)."""
    signal, choice = settings.model_signal(), settings.judgments.calibration
    if choice == "shipped" or signal == "off":
        return shipped()
    if choice == "auto":
        path = profiles_dir() / profile_file(settings.model, signal)
    else:
        path = Path(choice).expanduser()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        if choice == "auto":
            return shipped()
        raise ConfigError(
            f"{path}: calibration profile not found ([judgments] calibration)"
        ) from None
    return _profile(path, stamp, settings.model, signal)


@cache
def _profile(path: Path, stamp: int, model: str, signal: str) -> Calibration:
    """A profile file read and checked once per version of it (``stamp``: its mtime)."""
    raw = read_profile(path)
    if (raw["model"], raw["signal"]) != (model, signal):
        raise ConfigError(
            f"{path}: calibration profile fitted for {raw['model']} ({raw['signal']}), not the "
            f"configured {model} ({signal}): run `newsaudit calibrate --model {model}`"
        )
    prompt = stale_prompt(raw)
    if prompt is not None:
        raise ConfigError(
            f"{path}: calibration profile fitted on answers to another version of "
            f"prompts/{prompt}.j2: recalibrate with `newsaudit calibrate --model {model}`, or "
            'set [judgments] calibration = "shipped"'
        )
    try:
        fitted = combination_from(raw["sentences"])
        statements = combination_from(raw["statements"]) if "statements" in raw else None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: calibration profile malformed: {exc!r}") from None
    return Calibration(fitted, describe(raw, path), path, statements)


def statement_combination(settings: Settings, mode: str) -> Combination:
    """The statement checker's weights when the configured model is asked in ``mode``: its
    profile's, where the profile was fitted on statements asked that way, else the shipped
    ones (faithfulness.json; a batch run checks its summary without the model, "off")."""
    profiled = sentence_calibration(settings).statements
    if profiled is not None and mode == settings.model_signal() != "off":
        return profiled
    return load_combination(STATEMENTS[0])


def calibration_note(
    model: str, *, custom_weights: bool, signal: str, fitted: tuple[str, str] = SENTENCES
) -> str | None:
    """Why the judgments of ``fitted`` (a shipped combination file and what it judges) may
    not be calibrated for ``model``, or None. ``signal``: how the model was asked (logprobs,
    batch, off); ``custom_weights``: the model string serves other weights than its pinned
    ones."""
    name, judged = fitted
    fitted_on = str(load_combination(name).meta.get("model", ""))
    if signal == "off" or (signal == "logprobs" and model == fitted_on and not custom_weights):
        return None
    form = " (batch form: one answer each, read as 0.85)" if signal == "batch" else ""
    served = " serving other weights" if custom_weights else ""
    remedy = "; `newsaudit calibrate` fits them to it" if fitted == SENTENCES else ""
    return (
        f"calibration: shipped (fitted on {fitted_on}'s answer probabilities): the answers of "
        f"{model}{served}{form} go through those weights and thresholds, so its {judged} are "
        f"not calibrated for it (docs/measurements.md){remedy}"
    )


def calibration_warnings(
    settings: Settings, signal: str, *, answered: bool, fitted: tuple[str, str] = SENTENCES
) -> list[str]:
    """The note for a report's warnings, where the model's answers were read (``answered``)
    through the shipped ``fitted`` combination (none when a profile read them); said once on
    stderr too."""
    calibrated = sentence_calibration(settings)
    if calibrated.path is not None and (fitted == SENTENCES or calibrated.statements is not None):
        return []
    note = calibration_note(
        settings.model, custom_weights=settings.serves_other_weights, signal=signal, fitted=fitted
    )
    if note is None or not answered:
        return []
    say_once(note)
    return [note]


@cache
def say_once(note: str) -> None:
    """A note on stderr once per process (a batch of thousands says it once)."""
    log.warning("newsaudit: %s", note)
