"""Which model's answers the shipped combinations were fitted on, and the note a report and
stderr carry when another model's answers (or the batch form's) are read through them.

Both combinations, the sentence labels' (``combination.json``, ``train/combination.py``) and
the statement checker's (``faithfulness.json``, ``train/faithfulness.py``), were fitted on the
embedded 1.5B model's answer probabilities; each file names that model. Another model's
answers go through the same weights and thresholds: measured, the embedded 0.5B model's
answers give NewsSD-ENG test macro-F1 0.734 through the shipped sentence weights and 0.780
through weights fitted on its own answers (docs/measurements.md). The batch form's single
answers (read as 0.85) are not what the weights were fitted on, whichever model gives them.
"""

from __future__ import annotations

import logging
from functools import cache

from pipeline.core.config import Settings
from pipeline.signals.subjectivity import load_combination

log = logging.getLogger("newsaudit.judgments")
SENTENCES = ("combination.json", "sentence labels")
STATEMENTS = ("faithfulness.json", "statement checks")


def calibration_note(
    model: str, *, custom_weights: bool, signal: str, fitted: tuple[str, str] = SENTENCES
) -> str | None:
    """Why the judgments of ``fitted`` (a combination file and what it judges) may not be
    calibrated for ``model``, or None. ``signal``: how the model was asked (logprobs, batch,
    off); ``custom_weights``: the model string serves other weights than its pinned ones."""
    name, judged = fitted
    fitted_on = str(load_combination(name).meta.get("model", ""))
    if signal == "off" or (signal == "logprobs" and model == fitted_on and not custom_weights):
        return None
    form = " (batch form: one answer each, read as 0.85)" if signal == "batch" else ""
    served = " serving other weights" if model == fitted_on else ""
    return (
        f"calibration: shipped (fitted on {fitted_on}'s answer probabilities): the answers of "
        f"{model}{served}{form} go through those weights and thresholds, so its {judged} are "
        "not calibrated for it (docs/measurements.md)"
    )


def calibration_warnings(
    settings: Settings, signal: str, *, answered: bool, fitted: tuple[str, str] = SENTENCES
) -> list[str]:
    """The note for a report's warnings, where the model's answers were read (``answered``)
    through the ``fitted`` combination; said once on stderr too."""
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
