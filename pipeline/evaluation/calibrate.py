"""`newsaudit calibrate`: the sentence combination fitted to the configured model's answers.

The model is asked the question the pipeline asks it about a sentence in the article's own
voice (the one-letter question read from log-probabilities, or the batch form's structured
answer where ``model_signal`` is batch), each labelled row judged as a one-sentence article
as `newsaudit eval --task bias` judges it. Rows: NewsSD-ENG train + val, shipped in the
package (CC BY 4.0), plus any of the user's own rows in the eval format; the test split is
scored, never fitted on. The combination is fitted as train/combination.py fits the shipped
one (pipeline.evaluation.fitting: same signals, folds and threshold rule). Answers are cached
as they arrive, so an interrupted run resumes where it stopped. The profile
(pipeline.signals.calibration) holds the fitted weights, the prompt's hash and the figures:
out-of-fold on the fitted rows, and the shipped weights' on the same rows, with bootstrap 95%
intervals.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Generic, TextIO

import numpy as np

from pipeline import __version__
from pipeline.core.errors import ConfigError, InputError, NewsauditError
from pipeline.evaluation.fitting import (
    SEED,
    WITH_MODEL_CANDIDATES,
    WITHOUT_MODEL_CANDIDATES,
    balanced_threshold,
    best_fit,
    exported,
    out_of_fold_classifier,
    out_of_fold_production,
    production_scores,
    rows_of,
    rule_scores,
    statement_fit,
    statement_out_of_fold,
    weights,
    with_rules,
)
from pipeline.evaluation.metrics import Estimate, summarize
from pipeline.evaluation.rows import BiasRow, FaithfulnessRow, R, read_rows, read_typed
from pipeline.model.prompts import prompt_hash, render_messages
from pipeline.model.ratelimit import estimate_message_tokens
from pipeline.signals.attribution import attribute
from pipeline.signals.calibration import (
    PROFILE_FORMAT,
    PROMPT_OF,
    STATEMENT_PROMPT_OF,
    STATEMENTS,
    describe,
    profile_file,
    profiles_dir,
    read_profile,
    shipped,
    stale_prompt,
)
from pipeline.signals.citations import SentenceIndex
from pipeline.signals.embeddings import embedded_model
from pipeline.signals.subjectivity import (
    MODEL_FEATURES,
    Combination,
    centred,
    classifier,
    embed_and_classify,
    feature_rows,
    load_combination,
)
from pipeline.stages.support import NO_LOGPROBS, model_kinds, needs_model, probe_messages
from pipeline.stages.verify import (
    Evidence,
    article_context,
    check_statements,
    features,
    retrieve,
    ruled,
)
from pipeline.text.sentences import segment, whole
from schemas.article import Article

SHIPPED = "NewsSD-ENG"
MIN_ANSWERED = 20  # fewer own-voice answers than this cannot fit the model's weights
BATCH_COMPLETION = 20  # tokens of one sentence's structured answer, about
Answers = dict[str, dict[str, float] | None]
OnProgress = Callable[[int, int, int], None]  # (answered now, cached before, to ask in all)
Log = Callable[[str], None]


@dataclass(frozen=True)
class CalibrationData:
    """The rows a calibration fits on and the rows it scores (the shipped test split)."""

    fit: list[BiasRow]
    test: list[BiasRow]
    sources: list[str]

    def asked(self) -> list[BiasRow]:
        """The rows the pipeline would ask the model about: own voice, over three words."""
        return [r for r in [*self.fit, *self.test] if _asked(r.text)]


def _asked(text: str) -> bool:
    shown = whole(text)
    return needs_model(shown[0], attribute(shown)[0])


def _shipped_split(split: str) -> list[BiasRow]:
    path = files("pipeline").joinpath(f"data/newssd-eng/newssd-eng-{split}.jsonl")
    return read_typed(Path(str(path)), BiasRow)


def calibration_data(
    extra: Sequence[Path] = (), *, limit: int | None = None, test: bool = True
) -> CalibrationData:
    """NewsSD-ENG train + val and the user's rows (validated as `newsaudit eval` validates
    them; ids unique across files) to fit on, a seeded sample of ``limit`` of them if given;
    the NewsSD-ENG test split to score (unless ``test`` is false)."""
    fit, test_rows = _shipped_split("train") + _shipped_split("val"), _shipped_split("test")
    sources = [f"{SHIPPED} train + val ({len(fit)} rows, CC BY 4.0)"]
    seen = {r.id: "the shipped rows" for r in [*fit, *test_rows]}
    for path in extra:
        rows = [r for r in read_rows(path, "bias") if isinstance(r, BiasRow)]
        for row in rows:
            if row.id in seen:
                raise InputError(f"{path}: id {row.id!r} is also in {seen[row.id]}")
            seen[row.id] = str(path)
        fit += rows
        sources.append(f"{path} ({len(rows)} rows)")
    if limit is not None and limit < len(fit):
        fit = random.Random(SEED).sample(fit, limit)
        sources.append(f"a seeded sample of {limit} of them (--limit)")
    return CalibrationData(fit, test_rows if test else [], sources)


# The model's answers, cached as they arrive ---------------------------------------------------


def answers_file(
    model: str, signal: str, folder: Path | None = None, *, statements: bool = False
) -> Path:
    """Where the answers of ``model`` asked by ``signal`` are cached (about sentences, or
    about statements)."""
    stem = profile_file(model, signal).removesuffix(".json")
    kind = ".statements" if statements else ""
    return (folder or profiles_dir()) / "answers" / f"{stem}{kind}.jsonl"


def _key(row: BiasRow) -> str:
    return hashlib.sha256(row.text.encode("utf-8")).hexdigest()[:16]


def cached_answers(path: Path, prompt: str) -> Answers:
    """The cached answers to the current ``prompt`` (by hash), keyed by row id and text:
    a line for another prompt or a changed text is asked again; a torn last line is skipped."""
    if not path.exists():
        return {}
    out: Answers = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            if record["prompt"] == prompt:
                out[f"{record['id']}\0{record['sha']}"] = record["probs"]
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return out


class AnswerCache(Generic[R]):
    """The answers to one prompt kept in a JSONL file, each line keyed by the row's id and a
    hash of what was asked about it (``key``), so a changed row or prompt is asked again."""

    def __init__(self, path: Path, prompt: str, key: Callable[[R], str]) -> None:
        self.path, self.prompt, self.key = path, prompt_hash(prompt), key
        self.known = cached_answers(path, self.prompt)

    def _slot(self, row: R) -> str:
        return f"{row.id}\0{self.key(row)}"

    def missing(self, rows: Sequence[R]) -> list[R]:
        """The rows without a cached answer, in order."""
        return [r for r in rows if self._slot(r) not in self.known]

    def add(self, out: TextIO, row: R, probs: dict[str, float] | None) -> None:
        """One answer, written as a line of ``out`` (the file opened by ``appending``)."""
        record = {"id": row.id, "sha": self.key(row), "prompt": self.prompt, "probs": probs}
        out.write(json.dumps(record) + "\n")
        self.known[self._slot(row)] = probs

    def of(self, rows: Sequence[R]) -> Answers:
        """Each row's answer by id (None where it has none)."""
        return {r.id: self.known.get(self._slot(r)) for r in rows}

    @contextmanager
    def appending(self) -> Iterator[TextIO]:
        """The file opened for appending; a line cut short by a killed run is ended first, so
        the next line stands alone (the torn one is skipped when read)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cache = self.path
        torn = cache.exists() and cache.stat().st_size and not cache.read_bytes().endswith(b"\n")
        with cache.open("a", encoding="utf-8") as out:
            if torn:
                out.write("\n")
            yield out


def _no_logprobs(llm: Any) -> ConfigError:
    return ConfigError(
        f"{llm.model} returned no log-probabilities: calibrate the form it can answer, with "
        '[judgments] model_signal = "batch"'
    )


def estimate_cost(rows: Sequence[BiasRow], signal: str, price: tuple[float, float] | None) -> str:
    """What asking ``rows`` will cost, in requests, tokens and (with a known price) dollars."""
    prompt = sum(
        estimate_message_tokens(probe_messages(_one(r), whole(r.text), whole(r.text)[0]))
        for r in rows
    )
    return _cost(len(rows), prompt, len(rows), signal, price)


def _cost(
    calls: int, prompt: int, answers: int, signal: str, price: tuple[float, float] | None
) -> str:
    completion = answers * (1 if signal == "logprobs" else BATCH_COMPLETION)
    line = f"{calls} requests, about {prompt:,} prompt and {completion:,} completion tokens"
    if price is None:
        return line + " (no price known for this model: a local server is free)"
    return line + f", about ${prompt * price[0] + completion * price[1]:.2f}"


def estimate_statement_cost(
    rows: Sequence[FaithfulnessRow], signal: str, price: tuple[float, float] | None
) -> str:
    """What asking about ``rows`` will cost, as ``estimate_cost`` says it: each statement
    with its whole document, or three of its sentences (as retrieved, about) when the
    document is too long to be the context (verify's article_context)."""
    prompt = 0
    for row in rows:
        segments = segment(_document(row))
        shown = article_context(segments) or " ".join(s.text for s in segments[:3])
        messages = render_messages(
            STATEMENT_PROMPT_OF["logprobs"], evidence=shown, statement=row.claim
        )
        prompt += estimate_message_tokens(messages)
    calls = len(rows) if signal == "logprobs" else -(-len(rows) // STATEMENTS_PER_CALL)
    return _cost(calls, prompt, len(rows), signal, price)


def _one(row: BiasRow) -> Article:
    return Article(id=row.id, paragraphs=[row.text])


async def ask(
    rows: Sequence[BiasRow],
    llm: Any,
    signal: str,
    cache: Path,
    *,
    progress: OnProgress | None = None,
    log: Log | None = None,
) -> Answers:
    """Every row's answer (model kind -> probability; None where the model gave none), from
    ``cache`` or asked now and appended to it line by line. A row whose call fails is left
    unanswered (asked again on the next run); a provider without log-probabilities stops the
    run with a ConfigError that says to calibrate the batch form."""
    answers = AnswerCache(cache, PROMPT_OF[signal], _key)
    todo = answers.missing(rows)
    cached, failed = len(rows) - len(todo), 0
    with answers.appending() as out:
        for done, row in enumerate(todo, start=1):
            shown = whole(row.text)
            try:
                kinds, metrics = await model_kinds(
                    _one(row), [shown], {shown[0].id}, llm=llm, mode=signal
                )
            except NewsauditError as exc:
                failed += 1
                if log is not None:
                    log(f"{row.id}: no answer ({exc}); asked again on the next run")
                continue
            if NO_LOGPROBS in metrics.warnings:
                raise _no_logprobs(llm)
            answers.add(out, row, kinds.get(shown[0].id))
            out.flush()
            if progress is not None:
                progress(done, cached, len(rows))
    if failed and log is not None:
        log(f"{failed} rows unanswered: rerun the same command to ask them again")
    return answers.of(rows)


# Fitting and figures --------------------------------------------------------------------------


def _figures(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    summary = summarize("bias", labels, scores, 0.5)

    def pair(e: Estimate) -> list[float | None]:
        return [None if v is None else round(v, 4) for v in (e.value, e.low, e.high)]

    return {
        "n": summary.n,
        "positives": summary.positives,
        "macro_f1": pair(summary.macro_f1),
        "balanced_accuracy": pair(summary.balanced_accuracy),
        "auc": pair(summary.auc),
    }


def fit_profile(
    data: CalibrationData,
    answers: Answers,
    *,
    model: str,
    signal: str,
    statements: tuple[StatementData, Answers] | None = None,
) -> dict[str, Any]:
    """The profile: both variants fitted on the fit rows with the model's answers, the
    figures out-of-fold and the shipped weights' on the same rows (and on the test rows);
    with ``statements``, the statement checker fitted on them too."""
    texts, ids = [r.text for r in data.fit], [r.id for r in data.fit]
    y = np.array([r.label for r in data.fit])
    kinds = {k: v for k, v in answers.items() if v is not None}
    oof, phrases = out_of_fold_classifier(texts, y, float(classifier().meta["C"]))
    rows = rows_of(texts, ids, oof, phrases, kinds)
    own = [
        (v, label) for (v, o), label in zip(rows, y, strict=True) if o and MODEL_FEATURES[0] in v
    ]
    own_y = np.array([label for _, label in own])
    if len(own) < MIN_ANSWERED or len(set(own_y.tolist())) < 2:
        raise InputError(
            f"only {len(own)} of the fitting rows have the model's answer in the article's own "
            f"voice (at least {MIN_ANSWERED}, of both labels, are needed): rerun to ask again, "
            "or add rows with --data"
        )
    fitted: dict[str, Any] = {
        "with_model": best_fit([v for v, _ in own], own_y, WITH_MODEL_CANDIDATES),
        "without_model": best_fit([v for v, _ in rows], y, WITHOUT_MODEL_CANDIDATES),
    }
    figures = {
        "out_of_fold": _figures(y, out_of_fold_production(rows, y, fitted)),
        "shipped_same_rows": _figures(y, production_scores(rows, shipped().combination)),
    }
    if data.test:
        scored = embed_and_classify([r.text for r in data.test])
        test_rows = rows_of(
            [r.text for r in data.test],
            [r.id for r in data.test],
            scored.probabilities,
            scored.phrases,
            kinds,
        )
        test_y = np.array([r.label for r in data.test])
        figures["test"] = _figures(test_y, production_scores(test_rows, fitted))
        figures["test_shipped"] = _figures(
            test_y, production_scores(test_rows, shipped().combination)
        )
    prompts = [PROMPT_OF[signal]] + ([STATEMENT_PROMPT_OF[signal]] if statements else [])
    profile = {
        "format": PROFILE_FORMAT,
        "model": model,
        "signal": signal,
        "prompt_hashes": {p: prompt_hash(p) for p in prompts},
        "fitted": datetime.now(UTC).isoformat(timespec="seconds"),
        "newsaudit_version": __version__,
        "data": data.sources,
        "answered": {"rows": len(kinds), "own_voice_fitted": len(own)},
        "sentences": fitted | figures,
    }
    if statements is not None:
        asked_about, said = statements
        profile["statement_data"] = asked_about.sources
        profile["statements"] = fit_statements(asked_about, said, signal=signal)
    return profile


def write_profile(profile: dict[str, Any], out: Path | None = None) -> Path:
    """The profile written to ``out`` or to the profiles folder under its key."""
    path = out or profiles_dir() / profile_file(profile["model"], profile["signal"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(profile, indent=2) + "\n", encoding="utf-8")
    return path


def _cell(figure: list[float | None]) -> str:
    value, low, high = figure
    if value is None:
        return "n/a"
    return f"{value:.3f}" + (f" [{low:.3f}, {high:.3f}]" if low is not None else "")


def render_profile(profile: dict[str, Any], path: Path) -> str:
    """The printed table: the profile's figures against the shipped weights' on the same
    rows."""
    s = profile["sentences"]
    lines = [
        f"calibration profile {path}",
        f"model {profile['model']} ({profile['signal']}), fitted {profile['fitted']}",
        f"data: {'; '.join(profile['data'])}",
        "",
        "| rows | weights | n | macro-F1 [95%] | balanced accuracy [95%] | AUC [95%] |",
        "|---|---|---|---|---|---|",
    ]
    t = profile.get("statements", {})
    named = [
        ("fitted rows, out-of-fold", "this profile", s.get("out_of_fold")),
        ("fitted rows", "shipped", s.get("shipped_same_rows")),
        ("NewsSD-ENG test", "this profile", s.get("test")),
        ("NewsSD-ENG test", "shipped", s.get("test_shipped")),
        ("statements, out-of-fold by document", "this profile", t.get("out_of_fold")),
        ("statements", "shipped", t.get("shipped_same_rows")),
    ]
    for rows, read_by, f in named:
        if f is not None:
            lines.append(
                f"| {rows} | {read_by} | {f['n']} | {_cell(f['macro_f1'])} | "
                f"{_cell(f['balanced_accuracy'])} | {_cell(f['auc'])} |"
            )
    lines += [
        "",
        "The shipped sentence weights were fitted on NewsSD-ENG train + val with the embedded "
        "1.5B model's answers (on those rows their figures are in-sample); the shipped "
        "statement weights on FactCC, SummEval and XSumFaith, never on SummEdits.",
    ]
    return "\n".join(lines) + "\n"


def list_profiles(folder: Path | None = None) -> str:
    """The profiles in the folder, one line each, with whether their prompts are current."""
    folder = folder or profiles_dir()
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not paths:
        return f"no calibration profiles in {folder} (write one with `newsaudit calibrate`)\n"
    lines = [
        "| profile | model | form | prompts | as the report names it |",
        "|---|---|---|---|---|",
    ]
    for path in paths:
        try:
            raw = read_profile(path)
        except ConfigError as exc:
            lines.append(f"| {path.name} | | | unreadable | {exc} |")
            continue
        stale = stale_prompt(raw)
        state = "current" if stale is None else f"stale ({stale}.j2 changed): recalibrate"
        lines.append(
            f"| {path.name} | {raw['model']} | {raw['signal']} | {state} | {describe(raw, path)} |"
        )
    return "\n".join(lines) + "\n"


# Statements: the checker of `verify` and the summary check ------------------------------------

SUMMEDITS = "SummEdits news"
STATEMENTS_PER_CALL = 8  # statements of one document asked together (the batch form's call)


@dataclass(frozen=True)
class StatementData:
    """Statements with their documents to fit the statement checker on: the set each comes
    from and its document (folds never split a document)."""

    rows: list[FaithfulnessRow]
    sets: list[str]
    groups: list[str]
    sources: list[str]


def _shipped_statements() -> list[tuple[FaithfulnessRow, str]]:
    folder = files("pipeline").joinpath("data/summedits-news")
    lines = folder.joinpath("documents.jsonl").read_text(encoding="utf-8").splitlines()
    documents = {d["doc_id"]: d["document"] for d in map(json.loads, filter(None, lines))}
    out = []
    for line in folder.joinpath("summaries.jsonl").read_text(encoding="utf-8").splitlines():
        if line:
            raw = json.loads(line)
            row = FaithfulnessRow(
                id=raw["id"],
                document=documents[raw["doc_id"]],
                claim=raw["claim"],
                label=raw["label"],
            )
            out.append((row, raw["doc_id"]))
    return out


def statement_data(extra: Sequence[Path] = (), *, limit: int | None = None) -> StatementData:
    """SummEdits' news summaries (shipped, Apache-2.0) and the user's statement rows (the
    `newsaudit eval --task faithfulness` format, validated as eval validates them); a seeded
    sample of ``limit`` of them if given."""
    found = [(row, SUMMEDITS, doc) for row, doc in _shipped_statements()]
    sources = [f"{SUMMEDITS} ({len(found)} summaries of 25 articles, Apache-2.0)"]
    seen = {row.id: "the shipped statements" for row, _, _ in found}
    for path in extra:
        rows = [r for r in read_rows(path, "faithfulness") if isinstance(r, FaithfulnessRow)]
        for row in rows:
            if row.id in seen:
                raise InputError(f"{path}: id {row.id!r} is also in {seen[row.id]}")
            seen[row.id] = str(path)
            document = hashlib.sha256(row.document.encode("utf-8")).hexdigest()[:16]
            found.append((row, path.name, document))
        sources.append(f"{path} ({len(rows)} statements)")
    if limit is not None and limit < len(found):
        found = random.Random(SEED).sample(found, limit)
        sources.append(f"a seeded sample of {limit} of them (--statement-limit)")
    return StatementData(
        [r for r, _, _ in found], [s for _, s, _ in found], [g for _, _, g in found], sources
    )


def _document(row: FaithfulnessRow) -> Article:
    paragraphs = [p for p in row.document.split("\n") if p.strip()]
    return Article(id=row.id, paragraphs=paragraphs)


def _indexes(rows: Sequence[FaithfulnessRow]) -> dict[str, tuple[SentenceIndex, str]]:
    """Each distinct document's sentence index and body (embedded once per document)."""
    out: dict[str, tuple[SentenceIndex, str]] = {}
    for row in rows:
        if row.document not in out:
            article = _document(row)
            segments = segment(article)
            vectors = embedded_model().embed([s.text for s in segments])
            out[row.document] = (SentenceIndex(segments, vectors), article.body)
    return out


def statement_evidence(rows: Sequence[FaithfulnessRow]) -> list[tuple[Evidence, str]]:
    """Each statement's retrieved sentences and its document's body, as `verify` finds them."""
    indexes = _indexes(rows)
    vectors = embedded_model().embed([r.claim for r in rows])
    out = []
    for row, vector in zip(rows, vectors, strict=True):
        index, body = indexes[row.document]
        out.append((retrieve(vector, index), body))
    return out


def _statement_key(row: FaithfulnessRow) -> str:
    text = row.document + "\0" + row.claim
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


async def ask_statements(
    rows: Sequence[FaithfulnessRow],
    llm: Any,
    signal: str,
    cache: Path,
    *,
    progress: OnProgress | None = None,
    log: Log | None = None,
) -> Answers:
    """Every statement's answer, from ``cache`` or asked now the way `verify` asks (the
    one-letter question per statement, or one batch call for up to eight statements of one
    document), appended to ``cache`` after each call; as ``ask`` does for sentences."""
    answers = AnswerCache(cache, STATEMENT_PROMPT_OF[signal], _statement_key)
    todo = answers.missing(rows)
    by_document: dict[str, list[FaithfulnessRow]] = {}
    for row in todo:
        by_document.setdefault(row.document, []).append(row)
    calls = [
        group[i : i + STATEMENTS_PER_CALL]
        for group in by_document.values()
        for i in range(0, len(group), STATEMENTS_PER_CALL)
    ]
    cached, done, failed = len(rows) - len(todo), 0, 0
    indexes = _indexes(todo)
    with answers.appending() as out:
        for call in calls:
            index, body = indexes[call[0].document]
            try:
                checks, _ = await check_statements(
                    [r.claim for r in call], index, body, llm=llm, mode=signal
                )
            except NewsauditError as exc:
                failed += len(call)
                if log is not None:
                    log(f"{call[0].id} and the rest of its call: no answer ({exc})")
                continue
            if signal == "logprobs" and all(c.model is None for c in checks):
                raise _no_logprobs(llm)
            for row, check in zip(call, checks, strict=True):
                answers.add(out, row, check.model)
            out.flush()
            done += len(call)
            if progress is not None:
                progress(done, cached, len(rows))
    if failed and log is not None:
        log(f"{failed} statements unanswered: rerun the same command to ask them again")
    return answers.of(rows)


def statement_scores(
    values: Sequence[Mapping[str, float]], answered: Sequence[bool], fitted: Combination
) -> np.ndarray:
    """Scores as `verify` gives them through a combination: the variant for the signals at
    hand, its threshold (as it moves with the statement, ``threshold_at``) at 0.5, the rules'
    scores where they apply (verify's ``ruled``)."""
    out = []
    for v, has_model in zip(values, answered, strict=True):
        variant = fitted.pick(bool(has_model))
        fixed = ruled(v)
        out.append(
            fixed if fixed is not None else centred(variant.probability(v), variant.threshold_at(v))
        )
    return np.array(out)


def fit_statements(data: StatementData, answers: Answers, *, signal: str) -> dict[str, Any]:
    """The statement checker's two variants fitted on the rows (the signals the shipped
    weights combine), each row weighted by 1 / (rows of its set and label), thresholds by
    balanced accuracy on out-of-fold predictions grouped by document; the figures
    out-of-fold and the shipped weights' on the same rows."""
    found = statement_evidence(data.rows)
    values = [
        features(r.claim, e, body, answers.get(r.id))
        for r, (e, body) in zip(data.rows, found, strict=True)
    ]
    y = np.array([r.label for r in data.rows])
    strata = np.array([f"{s}:{label}" for s, label in zip(data.sets, y, strict=True)])
    groups = np.array(data.groups)
    answered = np.array([answers.get(r.id) is not None for r in data.rows])
    fixed = rule_scores(values)
    if answered.sum() < MIN_ANSWERED or len(set(y[answered].tolist())) < 2:
        raise InputError(
            f"only {int(answered.sum())} statements have the model's answer (at least "
            f"{MIN_ANSWERED}, of both labels, are needed): rerun to ask again"
        )
    shipped_weights = load_combination(STATEMENTS[0])
    out: dict[str, Any] = {}
    oof = np.zeros(len(y))
    for variant, mask in (("with_model", answered), ("without_model", np.ones(len(y), bool))):
        names = shipped_weights.meta[variant]["features"]
        rows = np.flatnonzero(mask)
        x = feature_rows([values[i] for i in rows], names)
        scores = statement_out_of_fold(x, y[mask], strata[mask], groups[mask])
        threshold = balanced_threshold(y[mask], scores)
        scaler, model = statement_fit(x, y[mask], weights(strata[mask]))
        out[variant] = exported(scaler, model, tuple(names), threshold) | {"n": len(rows)}
        for i, p in zip(rows, scores, strict=True):
            if variant == "with_model" or not answered[i]:  # as verify picks the variant
                oof[i] = centred(float(p), threshold)
    oof = with_rules(oof, fixed)
    out["out_of_fold"] = _figures(y, oof)
    out["shipped_same_rows"] = _figures(
        y, statement_scores(values, answered.tolist(), shipped_weights)
    )
    out["restated"] = int((fixed == 1.0).sum())
    out["unbacked"] = int((fixed == 0.0).sum())
    return out
