"""Checking statements against an article: does the article say what the statement says?

For each statement: the article sentences that best match it (all-MiniLM-L6-v2 cosine, plus
any sentences it cites), cheap alignment checks against those sentences and the whole article
(numbers, dates, names, negation, novel content: pipeline.signals.alignment), and the model's
probability that the sentences support it, contradict it or do not say it (one one-letter
question per statement, read from log-probabilities; providers without them judge all the
statements in one structured call). A logistic regression fitted on FactCC, SummEval,
XSumFaith and SummEdits news (train/faithfulness.py, pipeline/data/faithfulness.json) gives
P(supported): with the model, from its three probabilities, at a threshold that moves with how
abstractive the statement is (LogisticModel.threshold_at); without it, from the alignment
signals. Two rules stand over it: a statement that restates one evidence sentence
nearly word for word, every number, date and name in place, the same negation and no content
word the evidence lacks, is supported by construction; one that gives a number, a date or a
name the whole article never gives (`unbacked`) is not supported, whatever its probability. Below
the threshold a statement is *contradicted* when the model or the negation check says so,
else *not supported*, and its problems name what the whole article lacks and the part of the
statement that failed (pipeline.signals.statement_parts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.model.prompts import prompt_hash, render_messages, schema_guide
from pipeline.signals.alignment import (
    FEATURE_NAMES,
    AlignmentSignals,
    alignment_signals,
    explain,
    feature_vector,
    novel_bigram_share,
)
from pipeline.signals.citations import SentenceIndex
from pipeline.signals.statement_parts import explain_parts
from pipeline.signals.subjectivity import PROBABILITY_FLOOR, Combination, load_combination
from pipeline.stages import StructuredLLM
from pipeline.text.chunking import merge_metrics
from pipeline.text.sentences import Segment
from schemas.report import StageMetrics
from schemas.verification import StatementCheck, StatementJudgments, Support

TOP_K = 3  # retrieved sentences per statement
PROMPT = "verify_article"  # the one-letter question (prompts/verify_article.j2)
# An article up to this many words is the model's context for every statement (the server
# keeps its prompt cached from one statement to the next); a longer one gives each statement
# its retrieved sentences. Measured in docs/measurements.md (whole article against retrieved).
WHOLE_ARTICLE_WORDS = 1500
OPTIONS = ("A", "B", "C")  # supports, contradicts, does not say (prompts/verify_article.j2)
VERDICT_LETTERS = {Support.supported: "A", Support.contradicted: "B", Support.not_supported: "C"}
CHOSEN = 0.85  # the probability a one-call verdict stands for
DOCUMENT_FEATURES = ("numbers_missing", "dates_missing", "names_missing", "novel_content_ratio")
FEATURES = (
    "cos_max",
    "cos_mean",
    *(f"ev_{n}" for n in FEATURE_NAMES),
    *(f"doc_{n}" for n in DOCUMENT_FEATURES),
)
MODEL_FEATURES = tuple(f"model_{o}" for o in OPTIONS)
RESTATED_GAP = 0.1  # at most this share of the statement's content words missing from one sentence
SPECIFIC_CHECKS = (
    "numbers_missing",
    "dates_missing",
    "names_missing",
    "negation_mismatch",
    "misplaced",
)


@dataclass(frozen=True)
class Evidence:
    """The sentences a statement is checked against, best match first."""

    ids: list[int]
    texts: list[str]
    sims: list[float]

    @property
    def numbered(self) -> str:
        """As the model sees them: "[n] text" per line."""
        return "\n".join(f"[{i}] {t}" for i, t in zip(self.ids, self.texts, strict=True))


def article_context(segments: Sequence[Segment]) -> str | None:
    """The article's body as the model reads it for each statement: every segment (the
    title is not one), numbered "[n] text" one per line; None when it is longer than
    WHOLE_ARTICLE_WORDS."""
    if sum(len(s.text.split()) for s in segments) > WHOLE_ARTICLE_WORDS:
        return None
    return "\n".join(f"[{s.id}] {s.text}" for s in segments)


def retrieve(
    vector: np.ndarray, index: SentenceIndex, cited: Sequence[int] = (), k: int = TOP_K
) -> Evidence:
    """The ``k`` sentences closest to the statement, and the ones it cites, in article order."""
    sims = index.similarities(vector, {s.id for s in index.segments})
    ranked = sorted(sims, key=lambda i: (-sims[i], i))
    chosen = sorted(set(ranked[:k]) | {i for i in cited if i in sims})
    text = {s.id: s.text for s in index.segments}
    return Evidence(chosen, [text[i] for i in chosen], [sims[i] for i in chosen])


def features(
    statement: str, evidence: Evidence, document: str, model: Mapping[str, float] | None
) -> dict[str, float]:
    """The combination's inputs for one statement (model features only when given)."""
    near = alignment_signals(statement, " ".join(evidence.texts))
    whole = feature_vector(alignment_signals(statement, document))
    values = {f"ev_{n}": v for n, v in zip(FEATURE_NAMES, feature_vector(near), strict=True)}
    values |= {f"doc_{n}": whole[FEATURE_NAMES.index(n)] for n in DOCUMENT_FEATURES}
    top = sorted(evidence.sims, reverse=True)[:TOP_K] or [0.0]
    values |= {"cos_max": top[0], "cos_mean": sum(top) / len(top)}
    values["doc_novel_bigrams"] = novel_bigram_share(statement, document)
    if model is not None:
        values |= {
            f"model_{k}": math.log(max(model.get(k, 0.0), PROBABILITY_FLOOR)) for k in OPTIONS
        }
    return values


def unbacked(statement: str, document: str) -> tuple[str, ...]:
    """The numbers, dates and names of the statement that the whole article never gives (in
    any form alignment reads: "2.5 million" = "2,500,000", "20%" = "20 per cent", "U.S." =
    "United States", a surname for a full name): a statement that adds one is not supported,
    whatever the combination's probability."""
    whole = alignment_signals(statement, document)
    return (*whole.numbers_missing, *whole.dates_missing, *whole.names_missing)


def ruled(values: Mapping[str, float]) -> float | None:
    """The probability the rules fix, whatever the combination says: 1 for a near-verbatim
    restatement, 0 for a statement with a number, date or name the whole article never
    gives, else None."""
    if restates(values):
        return 1.0
    if any(values[f"doc_{n}_missing"] for n in ("numbers", "dates", "names")):
        return 0.0
    return None


def restates(values: Mapping[str, float]) -> bool:
    """The statement says (nearly word for word) what one evidence sentence says, with every
    number, date and name found there, the same negation, nothing moved from elsewhere, and
    no content word the evidence lacks (a one-word edit, "beach" for "cliff", is not a
    restatement): supported by construction, whatever the combination's probability (fitted
    on paraphrases)."""
    close = values["ev_best_sentence_gap"] <= RESTATED_GAP
    return (
        close
        and values["ev_novel_content_ratio"] == 0
        and not any(values[f"ev_{n}"] for n in SPECIFIC_CHECKS)
    )


def judge(
    statement: str,
    evidence: Evidence,
    document: str,
    model: Mapping[str, float] | None,
    calibrated: Combination | None = None,
) -> StatementCheck:
    """One statement's verdict from its signals, through ``calibrated`` (a calibration
    profile's weights; default the shipped ones, faithfulness.json)."""
    values = features(statement, evidence, document, model)
    fitted = (calibrated or load_combination("faithfulness.json")).pick(model is not None)
    probability = fitted.probability(values)
    threshold = fitted.threshold_at(values)
    near = alignment_signals(statement, " ".join(evidence.texts))
    fixed = ruled(values)
    absent = unbacked(statement, document) if fixed == 0.0 else ()
    if fixed == 1.0 or (fixed is None and probability >= threshold):
        verdict = Support.supported
    elif near.negation_mismatch or (model is not None and model["B"] > model["C"]):
        verdict = Support.contradicted
    else:
        verdict = Support.not_supported
    return StatementCheck(
        statement=statement,
        verdict=verdict,
        probability=round(probability, 4),
        threshold=threshold,
        evidence=evidence.ids,
        evidence_text=evidence.texts,
        problems=problems(statement, evidence, document, near, verdict),
        model={k: round(v, 4) for k, v in model.items()} if model else None,
        restated=fixed == 1.0,
        unbacked=list(absent),
    )


def problems(
    statement: str,
    evidence: Evidence,
    document: str,
    near: AlignmentSignals,
    verdict: Support,
) -> list[str]:
    """What the alignment checks found; for a statement not supported, first what the whole
    article lacks and the part that failed (pipeline.signals.statement_parts), without
    saying twice that a specific is missing."""
    found = explain(near)
    if verdict is Support.supported:
        return found
    said = explain_parts(statement, document, list(zip(evidence.ids, evidence.texts, strict=True)))
    specifics = (*near.numbers_missing, *near.dates_missing, *near.names_missing)
    absent = [x for x in specifics if f"'{x}' is not in the article" in said]
    return said + [p for p in found if not any(p.endswith(f" {x}") for x in absent)]


async def _probe_each(
    statements: Sequence[str],
    evidence: Sequence[Evidence],
    llm: StructuredLLM,
    context: str | None,
) -> tuple[list[dict[str, float] | None], list[StageMetrics]]:
    out: list[dict[str, float] | None] = []
    spent = []
    for statement, found in zip(statements, evidence, strict=True):
        shown = context if context is not None else found.numbered
        messages = render_messages(PROMPT, evidence=shown, statement=statement)
        probs, metrics = await llm.probe("verify", messages, OPTIONS)
        spent.append(metrics)
        out.append(probs)
        if probs is None:
            out += [None] * (len(statements) - len(out))
            break
    return out, spent


async def _judge_all(
    statements: Sequence[str], evidence: Sequence[Evidence], llm: StructuredLLM
) -> tuple[list[dict[str, float] | None], list[StageMetrics]]:
    items = [
        {"statement": s, "evidence": e.numbered} for s, e in zip(statements, evidence, strict=True)
    ]
    messages = render_messages("verify_all", items=items, guide=schema_guide(StatementJudgments))
    result, metrics = await llm.structured("verify", StatementJudgments, messages, {})
    other = (1 - CHOSEN) / (len(OPTIONS) - 1)
    out: list[dict[str, float] | None] = [None] * len(statements)
    for j in result.judgments:
        if 1 <= j.statement <= len(statements) and out[j.statement - 1] is None:
            chosen = VERDICT_LETTERS[j.verdict]
            out[j.statement - 1] = {k: CHOSEN if k == chosen else other for k in OPTIONS}
    return out, [metrics]


async def check_statements(
    statements: Sequence[str],
    index: SentenceIndex,
    document: str,
    *,
    llm: StructuredLLM,
    mode: str,
    cited: Sequence[Sequence[int]] | None = None,
    calibrated: Combination | None = None,
) -> tuple[list[StatementCheck], StageMetrics]:
    """Every statement checked against the article whose sentences ``index`` holds; ``mode``
    is how the model is asked (logprobs, batch, off); ``calibrated``: the weights its answers
    are read through (pipeline.signals.calibration.statement_combination; default shipped)."""
    from pipeline.signals.embeddings import embedded_model

    vectors = embedded_model().embed(list(statements))
    cites = cited or [[] for _ in statements]
    evidence = [retrieve(v, index, c) for v, c in zip(vectors, cites, strict=True)]
    models: list[dict[str, float] | None] = [None] * len(statements)
    spent: list[StageMetrics] = []
    if statements and mode == "logprobs":
        models, spent = await _probe_each(
            statements, evidence, llm, article_context(index.segments)
        )
    elif statements and mode == "batch":
        models, spent = await _judge_all(statements, evidence, llm)
    checks = [
        judge(s, e, document, m, calibrated)
        for s, e, m in zip(statements, evidence, models, strict=True)
    ]
    metrics = merge_metrics("verify", spent) if spent else StageMetrics(stage="verify")
    metrics.prompt_hash = prompt_hash(PROMPT if mode == "logprobs" else "verify_all")
    return checks, metrics
