"""Fit how the sentence signals combine into P(subjective), on NewsSD-ENG (CC BY 4.0).

    python -m train.combination [--probes train/newssd-probes.jsonl] [--model M --api-base URL]

Signals per sentence (each judged as a one-sentence article, as `newsaudit eval --task bias`
does): the shipped classifier's probability (out-of-fold on train + val: the classifier is
refitted on the other folds, so the combination never sees a score the classifier was trained
on), the word cues, the attribution rules, and the model's probability for each kind of
sentence (prompts/sentence.j2, read from log-probabilities). Two logistic regressions are
fitted on train + val: with the model's probabilities (applied to own-voice sentences, so
fitted on the rows the attribution rules leave unattributed) and without them (the fallback
for providers without log-probabilities, fitted on all rows). Each threshold is chosen on
5-fold out-of-fold predictions by macro-F1; the test split is scored, never used to choose.

The model's answers are cached in --probes (one JSON line per row); rows missing from it are
asked of the configured model (default: the embedded one), so a rerun with the committed
cache needs no model. Writes pipeline/data/combination.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.config import load_settings
from pipeline.evaluation.fitting import (
    WITH_MODEL_CANDIDATES,
    WITHOUT_MODEL_CANDIDATES,
    best_fit,
    out_of_fold_classifier,
    production_scores,
    rows_of,
)
from pipeline.evaluation.metrics import roc_auc
from pipeline.run import open_llm
from pipeline.signals.subjectivity import MODEL_OPTIONS, classifier, embed_and_classify
from pipeline.stages.support import probe_messages
from pipeline.text.sentences import whole
from schemas.article import Article
from train.subjectivity import load


def one_sentence(row_id: str, text: str) -> Article:
    """An evaluation row as the pipeline sees it: a one-sentence article."""
    return Article(id=row_id, paragraphs=[text])


async def _ask(rows: list[tuple[str, str]], cache: Path, settings: Any) -> None:
    with open_llm(settings) as llm, cache.open("a", encoding="utf-8") as out:
        for row_id, text in rows:
            article, shown = one_sentence(row_id, text), whole(text)
            probs, _ = await llm.probe(
                "support", probe_messages(article, shown, shown[0]), MODEL_OPTIONS
            )
            out.write(json.dumps({"id": row_id, "probs": probs}) + "\n")
            out.flush()


def probes(ids: list[str], texts: list[str], cache: Path, settings: Any) -> dict[str, Any]:
    """The model's kind probabilities per row id, from the cache, asking for missing rows."""
    known = _read(cache)
    missing = [(i, t) for i, t in zip(ids, texts, strict=True) if i not in known]
    if missing:
        print(f"asking the model about {len(missing)} rows (cached in {cache})")
        asyncio.run(_ask(missing, cache, settings))
        known = _read(cache)
    return known


def _read(cache: Path) -> dict[str, Any]:
    if not cache.exists():
        return {}
    lines = cache.read_text(encoding="utf-8").splitlines()
    return {r["id"]: r["probs"] for r in map(json.loads, filter(None, lines))}


def main() -> None:
    """Fit both variants, score the test split, write pipeline/data/combination.json."""
    from pipeline.evaluation.metrics import balanced_accuracy, macro_f1

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("pipeline/data/newssd-eng"))
    parser.add_argument("--probes", type=Path, default=Path("train/newssd-probes.jsonl"))
    parser.add_argument("--out", type=Path, default=Path("pipeline/data/combination.json"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--api-base", default=None)
    args = parser.parse_args()
    settings = load_settings(None, model=args.model, api_base=args.api_base)
    split = {s: load(args.data, s) for s in ("train", "val", "test")}
    ids = {s: [f"newssd-{s}-{n}" for n in range(len(split[s][0]))] for s in split}
    texts = split["train"][0] + split["val"][0]
    y = np.concatenate([split["train"][1], split["val"][1]])
    c = float(classifier().meta["C"])
    oof, oof_phrases = out_of_fold_classifier(texts, y, c)
    test = embed_and_classify(split["test"][0])
    all_ids = ids["train"] + ids["val"] + ids["test"]
    kinds = probes(all_ids, texts + split["test"][0], args.probes, settings)
    fit_rows = rows_of(texts, ids["train"] + ids["val"], oof, oof_phrases, kinds)
    own = [(v, yy) for (v, o), yy in zip(fit_rows, y, strict=True) if o]
    fitted: dict[str, Any] = {
        "with_model": best_fit(
            [v for v, _ in own], np.array([yy for _, yy in own]), WITH_MODEL_CANDIDATES
        ),
        "without_model": best_fit([v for v, _ in fit_rows], y, WITHOUT_MODEL_CANDIDATES),
    }
    test_rows = rows_of(split["test"][0], ids["test"], test.probabilities, test.phrases, kinds)
    test_y = split["test"][1]
    report = {}
    for name, scores in (
        ("classifier alone", test.probabilities),
        ("combination", production_scores(test_rows, fitted)),
        (
            "combination without the model",
            production_scores([(v, False) for v, _ in test_rows], fitted),
        ),
    ):
        threshold = float(classifier().meta["threshold"]) if name == "classifier alone" else 0.5
        preds = scores >= threshold
        report[name] = {
            "macro_f1": round(macro_f1(test_y, preds), 4),
            "balanced_accuracy": round(balanced_accuracy(test_y, preds), 4),
            "auc": round(roc_auc(test_y, scores), 4),
        }
    fitted |= {
        "data": "NewsSD-ENG train + val (fit), test (scored)",
        "model": settings.model,
        "probes": str(args.probes),
        "test": report,
    }
    args.out.write_text(json.dumps(fitted, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
