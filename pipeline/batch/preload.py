"""Imported once by the fork server that worker processes start from (``processes.py``).

It loads what every worker would otherwise load on its first article, about 0.6 s of CPU
each: the clean stage's language model, the stage output schemas as instructor sends them, and
the SSL context of the HTTP clients. A failure here only means the workers load it themselves.
"""

from __future__ import annotations

import contextlib

import pipeline.batch.worker  # noqa: F401  (the workers' code, imported once)
from pipeline.model import llm, transport
from pipeline.stages.clean import detect_language
from schemas.bias import BiasDraft
from schemas.claims import ClaimPicks
from schemas.summary import SummaryDraft
from schemas.support import SentenceJudgments
from schemas.verification import Rewrites, StatementJudgments

with contextlib.suppress(Exception):
    detect_language("The council approved the budget for the bridges on Tuesday. " * 4)
    llm.warm_up(
        [SummaryDraft, ClaimPicks, SentenceJudgments, BiasDraft, Rewrites, StatementJudgments]
    )
    transport.ssl_context()
