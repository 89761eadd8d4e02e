"""Fit the statement checker's combination on FactCC, SummEval and XSumFaith (SummaC packaging).

    python -m train.faithfulness [--data ../shared/dev/faithfulness] [--probes FILE]
                                 [--model M --api-base URL]

Each row is checked as `newsaudit verify` checks a statement: the document is segmented, the
claim's best-matching sentences retrieved, the alignment checks run, and the model asked the
one-letter question of prompts/verify.j2 (answers cached in --probes: ids and probabilities
only; the documents stay out of the repository, their retrieved sentences are cached under
build/). The signals combined are the model's three probabilities, the best cosine and the
specific alignment checks (numbers, dates, names, negation); without the model, every
alignment signal. Each row weighs 1 / (rows of its set and label), so no set or class
dominates, and scores are out-of-fold (5 folds, stratified by set and label).

The figures are reported with a threshold chosen on another set than the one scored: FactCC
rows with SummEval's best balanced-accuracy threshold and SummEval rows with FactCC's (the
two together are the CNN/DailyMail figure), and XSumFaith with the threshold of FactCC +
SummEval. The shipped weights are fitted on all rows, with the threshold of FactCC +
SummEval, the regime closest to the summaries and statements newsaudit checks. Writes
pipeline/data/faithfulness.json with the figures and an ablation of the signal sets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.config import load_settings
from pipeline.evaluation.fitting import (
    GRID,
    balanced_threshold,
    exported,
    left_out,
    statement_fit,
    statement_out_of_fold,
    weights,
)
from pipeline.evaluation.metrics import balanced_accuracy, summarize
from pipeline.model.prompts import render_messages
from pipeline.run import open_llm
from pipeline.signals.citations import SentenceIndex
from pipeline.signals.embeddings import embedded_model
from pipeline.signals.subjectivity import centred, feature_rows
from pipeline.stages.verify import (
    FEATURES,
    MODEL_FEATURES,
    OPTIONS,
    Evidence,
    features,
    retrieve,
    ruled,
)
from pipeline.text.sentences import segment
from schemas.article import Article

SETS = ("factcc", "summeval", "xsumfaith")
LEFT_OUT_SETS = (*SETS, "summedits_news")  # the left-out report adds SummEdits (doc_id groups)


def load_rows(folder: Path, sets: tuple[str, ...] = SETS) -> list[dict[str, Any]]:
    """Every row of the sets, with its set's name and its document's group (SummEdits'
    doc_id; elsewhere the row's own document)."""
    rows = []
    for name in sets:
        for line in (folder / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows.append({**row, "set": name, "group": row.get("doc_id", row["id"])})
    return rows


def _article(row: dict[str, Any]) -> Article:
    return Article(id=row["id"], paragraphs=[p for p in row["document"].split("\n") if p.strip()])


def evidence_for(row: dict[str, Any]) -> Evidence:
    """The claim's retrieved sentences."""
    segments = segment(_article(row))
    vectors = embedded_model().embed([s.text for s in segments] + [row["claim"]])
    return retrieve(vectors[-1], SentenceIndex(segments, vectors[:-1]))


def all_evidence(rows: list[dict[str, Any]], cache: Path) -> list[tuple[Evidence, str]]:
    """Every row's evidence and document text; the evidence is kept in ``cache`` (outside
    the repository: it holds the documents' sentences) so a refit does not embed again."""
    known: dict[str, Any] = {}
    if cache.exists():
        known = {r["id"]: r for r in map(json.loads, cache.read_text().splitlines())}
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("a", encoding="utf-8") as out:
        for row in rows:
            if row["id"] not in known:
                known[row["id"]] = {"id": row["id"], **asdict(evidence_for(row))}
                out.write(json.dumps(known[row["id"]]) + "\n")
                out.flush()
    out_rows = []
    for row in rows:
        entry = known[row["id"]]
        found = Evidence(entry["ids"], entry["texts"], entry["sims"])
        out_rows.append((found, _article(row).body))
    return out_rows


async def _ask(todo: list[tuple[dict[str, Any], Evidence]], cache: Path, settings: Any) -> None:
    with open_llm(settings) as llm, cache.open("a", encoding="utf-8") as out:
        for row, found in todo:
            messages = render_messages("verify", evidence=found.numbered, statement=row["claim"])
            probs, _ = await llm.probe("verify", messages, OPTIONS)
            out.write(json.dumps({"id": row["id"], "probs": probs}) + "\n")
            out.flush()


def _read(cache: Path) -> dict[str, Any]:
    if not cache.exists():
        return {}
    lines = cache.read_text(encoding="utf-8").splitlines()
    return {r["id"]: r["probs"] for r in map(json.loads, filter(None, lines))}


SPECIFICS = (
    "ev_numbers_missing",
    "ev_dates_missing",
    "ev_names_missing",
    "ev_negation_mismatch",
    "doc_numbers_missing",
    "doc_names_missing",
)
WITH_MODEL = (*MODEL_FEATURES, "cos_max", *SPECIFICS)
ABLATION = {
    "model only": MODEL_FEATURES,
    "model + cosine + specific checks (shipped)": WITH_MODEL,
    "everything": FEATURES + MODEL_FEATURES,
    "alignment only (shipped without the model)": FEATURES,
}


def held_out(y: np.ndarray, scores: np.ndarray, sets: np.ndarray) -> dict[str, Any]:
    """The figures, each set thresholded on another: FactCC on SummEval's threshold and
    SummEval on FactCC's (together), XSumFaith on FactCC + SummEval's."""
    factcc, summeval, xsum = (sets == n for n in SETS)
    cnn = factcc | summeval
    chosen = {
        "factcc": balanced_threshold(y[summeval], scores[summeval]),
        "summeval": balanced_threshold(y[factcc], scores[factcc]),
        "xsumfaith": balanced_threshold(y[cnn], scores[cnn]),
    }
    centred_scores = np.array([centred(p, chosen[s]) for p, s in zip(scores, sets, strict=True)])
    out: dict[str, Any] = {"thresholds": chosen}
    for name, mask in (("factcc+summeval", cnn), ("xsumfaith", xsum)):
        summary = summarize("faithfulness", y[mask], centred_scores[mask], 0.5)
        out[name] = {
            "n": summary.n,
            "balanced_accuracy": " ".join(summary.balanced_accuracy.render()),
            "macro_f1": " ".join(summary.macro_f1.render()),
            "auc": " ".join(summary.auc.render()),
            "best_balanced_accuracy_on_itself": round(
                max(balanced_accuracy(y[mask], scores[mask] >= t) for t in GRID), 3
            ),
        }
    return out


def rule_scores(values: list[dict[str, float]]) -> np.ndarray:
    """The score verify's rules fix per row (NaN where none): restated 1, unbacked 0."""
    return np.array([np.nan if (r := ruled(v)) is None else r for v in values])


def with_rules(scores: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """The combination's scores with the rules' applied, as judge() applies them."""
    return np.where(np.isnan(fixed), scores, fixed)


MARKER = "doc_novel_bigrams"  # how abstractive a statement is, for the conditioned threshold


def left_out_report(values: list[dict[str, float]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each set scored by a combination fitted and thresholded on the other three
    (pipeline.evaluation.fitting.left_out), per signal set and threshold rule: one threshold
    for every statement, or one that moves with how abstractive the statement is."""
    y = np.array([bool(r["label"]) for r in rows])
    sets = np.array([r["set"] for r in rows])
    groups = np.array([r["group"] for r in rows])
    fixed = rule_scores(values)
    marker = np.array([v[MARKER] for v in values])
    out: dict[str, Any] = {"n": {name: int((sets == name).sum()) for name in LEFT_OUT_SETS}}
    for name, names in ABLATION.items():
        x = feature_rows(values, names)
        for rule, by in (("one threshold", None), (f"threshold by {MARKER}", marker)):
            scores, thresholds = left_out(x, y, sets, groups, by, fixed)
            figures: dict[str, Any] = {}
            cnn = np.isin(sets, ("factcc", "summeval"))
            for part, mask in (
                *((n, sets == n) for n in LEFT_OUT_SETS),
                ("factcc+summeval", cnn),
            ):
                centred_scores = np.array(
                    [centred(p, t) for p, t in zip(scores[mask], thresholds[mask], strict=True)]
                )
                summary = summarize("faithfulness", y[mask], centred_scores, 0.5)
                figures[part] = {
                    "balanced_accuracy": " ".join(summary.balanced_accuracy.render()),
                    "auc": " ".join(summary.auc.render()),
                }
            out[f"{name}; {rule}"] = figures
    return out


def main() -> None:
    """Features for every row, held-out figures per group, shipped weights from all rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/dev/faithfulness"))
    parser.add_argument("--probes", type=Path, default=Path("train/faithfulness-probes.jsonl"))
    parser.add_argument("--out", type=Path, default=Path("pipeline/data/faithfulness.json"))
    parser.add_argument("--evidence", type=Path, default=Path("build/faithfulness-evidence.jsonl"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--api-base", default=None)
    args = parser.parse_args()
    settings = load_settings(None, model=args.model, api_base=args.api_base)
    rows = load_rows(args.data, LEFT_OUT_SETS)
    found = all_evidence(rows, args.evidence)
    known = _read(args.probes)
    todo = [(r, e) for r, (e, _) in zip(rows, found, strict=True) if r["id"] not in known]
    if todo:
        print(f"asking the model about {len(todo)} rows (cached in {args.probes})")
        asyncio.run(_ask(todo, args.probes, settings))
        known = _read(args.probes)
    every = [
        features(r["claim"], e, doc, known.get(r["id"]))
        for r, (e, doc) in zip(rows, found, strict=True)
    ]
    left_out_figures = left_out_report(every, rows)
    # the shipped weights: FactCC, SummEval and XSumFaith (the left-out figures say why)
    kept = [i for i, r in enumerate(rows) if r["set"] in SETS]
    rows, values = [rows[i] for i in kept], [every[i] for i in kept]
    y = np.array([bool(r["label"]) for r in rows])
    sets = np.array([r["set"] for r in rows])
    strata = np.array([f"{s}:{label}" for s, label in zip(sets, y, strict=True)])
    cnn = np.isin(sets, ("factcc", "summeval"))
    # The model whose answers the weights read (the pipeline says when another model's are).
    out: dict[str, Any] = {
        "data": "FactCC, SummEval, XSumFaith (SummaC packaging)",
        "model": settings.model,
    }
    # a near-verbatim restatement is supported, and a statement with a number or date the
    # article never gives is not, whatever the combination says (as judge() has it)
    fixed = rule_scores(values)
    out["rules"] = {
        name: {
            rule: {
                "rows": int(((fixed == value) & (sets == name)).sum()),
                "labelled_supported": int(((fixed == value) & (sets == name) & y).sum()),
            }
            for rule, value in (("restated", 1.0), ("unbacked", 0.0))
        }
        for name in SETS
    }
    out["ablation"] = {
        name: held_out(
            y,
            with_rules(statement_out_of_fold(feature_rows(values, names), y, strata), fixed),
            sets,
        )
        for name, names in ABLATION.items()
    }
    for variant, names in (("with_model", WITH_MODEL), ("without_model", FEATURES)):
        x = feature_rows(values, names)
        threshold = balanced_threshold(y[cnn], statement_out_of_fold(x, y, strata)[cnn])
        scaler, model = statement_fit(x, y, weights(strata))
        out[variant] = exported(scaler, model, names, threshold) | {"n": len(y)}
    out["left_out"] = left_out_figures
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("rules", "ablation", "left_out")}, indent=2))


if __name__ == "__main__":
    main()
