"""Fit the statement checker's combination on FactCC, SummEval and XSumFaith (SummaC packaging).

    python -m train.faithfulness [--data ../shared/dev/faithfulness] [--probes FILE]
                                 [--model M --api-base URL]

Each row is checked as `newsaudit verify` checks a statement: the document is segmented, the
claim's best-matching sentences retrieved, the alignment checks run, and the model asked the
one-letter question of prompts/verify.j2 (answers cached in --probes: ids and probabilities
only; the documents stay out of the repository). Two logistic regressions (with and without
the model's answer) are evaluated leave-one-dataset-group-out: weights and threshold fitted on
XSumFaith and scored on FactCC + SummEval, and fitted on FactCC + SummEval and scored on
XSumFaith. The shipped weights are then fitted on all three, with the threshold that gives
the best balanced accuracy on their out-of-fold predictions. Writes
pipeline/data/faithfulness.json with the held-out figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.citations import SentenceIndex
from pipeline.config import load_settings
from pipeline.embeddings import embedded_model
from pipeline.metrics import summarize
from pipeline.prompts import render_messages
from pipeline.run import open_llm
from pipeline.sentences import segment
from pipeline.stages.verify import FEATURES, MODEL_FEATURES, OPTIONS, Evidence, features, retrieve
from pipeline.subjectivity import feature_rows
from schemas.article import Article
from train.subjectivity import SEED

SETS = ("factcc", "summeval", "xsumfaith")
GROUPS = {"factcc+summeval": ("factcc", "summeval"), "xsumfaith": ("xsumfaith",)}


def load_rows(folder: Path) -> list[dict[str, Any]]:
    """Every row of the three sets, with its set's name."""
    rows = []
    for name in SETS:
        for line in (folder / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append({**json.loads(line), "set": name})
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


def fit(x: np.ndarray, y: np.ndarray) -> tuple[Any, float]:
    """Logistic regression, and the threshold with the best out-of-fold balanced accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from pipeline.metrics import balanced_accuracy

    def model() -> Any:
        return make_pipeline(
            StandardScaler(), LogisticRegression(C=0.3, class_weight="balanced", max_iter=5000)
        )

    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    oof = cross_val_predict(model(), x, y, cv=folds, method="predict_proba")[:, 1]
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    threshold = float(max(grid, key=lambda t: (balanced_accuracy(y, oof >= t), -abs(t - 0.5))))
    return model().fit(x, y), threshold


def exported(fitted: Any, names: tuple[str, ...], threshold: float, n: int) -> dict[str, Any]:
    """Weights on the raw features (the scaler folded in), for pipeline.subjectivity."""
    scaler, logistic = fitted.steps[0][1], fitted.steps[1][1]
    coef = logistic.coef_[0] / scaler.scale_
    intercept = logistic.intercept_[0] - float(
        np.sum(logistic.coef_[0] * scaler.mean_ / scaler.scale_)
    )
    return {
        "features": list(names),
        "coef": [round(float(c), 6) for c in coef],
        "intercept": round(float(intercept), 6),
        "threshold": threshold,
        "n": n,
    }


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
    rows = load_rows(args.data)
    found = all_evidence(rows, args.evidence)
    known = _read(args.probes)
    todo = [(r, e) for r, (e, _) in zip(rows, found, strict=True) if r["id"] not in known]
    if todo:
        print(f"asking the model about {len(todo)} rows (cached in {args.probes})")
        settings = load_settings(None, model=args.model, api_base=args.api_base)
        asyncio.run(_ask(todo, args.probes, settings))
        known = _read(args.probes)
    values = [
        features(r["claim"], e, doc, known.get(r["id"]))
        for r, (e, doc) in zip(rows, found, strict=True)
    ]
    y = np.array([bool(r["label"]) for r in rows])
    sets = np.array([r["set"] for r in rows])
    out: dict[str, Any] = {"data": "FactCC, SummEval, XSumFaith (SummaC packaging)", "held_out": {}}
    for variant, names in (("with_model", FEATURES + MODEL_FEATURES), ("without_model", FEATURES)):
        x = feature_rows(values, names)
        for reported, members in GROUPS.items():
            test = np.isin(sets, members)
            model, threshold = fit(x[~test], y[~test])
            scores = model.predict_proba(x[test])[:, 1]
            summary = summarize("faithfulness", y[test], scores, threshold)
            out["held_out"][f"{variant} on {reported}"] = {
                "fitted_on": sorted(set(sets[~test])),
                "threshold": threshold,
                "n": summary.n,
                "balanced_accuracy": " ".join(summary.balanced_accuracy.render()),
                "macro_f1": " ".join(summary.macro_f1.render()),
                "auc": " ".join(summary.auc.render()),
            }
        model, threshold = fit(x, y)
        out[variant] = exported(model, names, threshold, len(y))
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out["held_out"], indent=2))


if __name__ == "__main__":
    main()
