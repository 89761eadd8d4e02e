"""Train the subjectivity classifier shipped in pipeline/data/ from NewsSD-ENG (CC BY 4.0).

    python -m train.subjectivity [--data pipeline/data/newssd-eng] [--out pipeline/data]

Features: all-MiniLM-L6-v2's token states, mean-pooled per layer and averaged over its six
layers (`MiniLM.encode`), standardised. Model: L2-regularised logistic regression with
balanced class weights. The regularisation strength is chosen by 5-fold cross-validation
(fixed seed) on train + val by ROC AUC, and the decision threshold on the same out-of-fold
predictions by macro-F1; the test split is only scored, never used to choose anything.
Writes subjectivity.npz (weights as plain arrays, no pickle) and subjectivity.json (data
sha256, choices, cross-validated and test metrics). Needs scikit-learn (`pip install -e
".[train]"`) and the embedding model (`newsaudit setup-local --embeddings-only`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.evaluation.fitting import SEED, best_threshold
from pipeline.evaluation.metrics import balanced_accuracy, macro_f1, roc_auc
from pipeline.signals.embeddings import embedded_model

C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)
SPLITS = ("train", "val", "test")


def load(folder: Path, split: str) -> tuple[list[str], np.ndarray, str]:
    """Texts, labels and sha256 of one split."""
    path = folder / f"newssd-eng-{split}.jsonl"
    raw = path.read_bytes()
    rows = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
    labels = np.array([bool(r["label"]) for r in rows])
    return [r["text"] for r in rows], labels, hashlib.sha256(raw).hexdigest()


def features(texts: list[str]) -> np.ndarray:
    """The classifier's input: layer-averaged mean-pooled MiniLM states."""
    return embedded_model().encode(texts).layers


def main() -> None:
    """Train, choose by cross-validation, score the test split and write the weights."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("pipeline/data/newssd-eng"))
    parser.add_argument("--out", type=Path, default=Path("pipeline/data"))
    args = parser.parse_args()
    data = {s: load(args.data, s) for s in SPLITS}
    x = np.concatenate([features(data["train"][0]), features(data["val"][0])])
    y = np.concatenate([data["train"][1], data["val"][1]])
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)

    def model(c: float) -> Any:
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=SEED),
        )

    oof = {c: cross_val_predict(model(c), x, y, cv=folds, method="predict_proba")[:, 1]
           for c in C_GRID}  # fmt: skip
    c = max(C_GRID, key=lambda k: roc_auc(y, oof[k]))
    threshold = best_threshold(y, oof[c])
    fitted = model(c).fit(x, y)
    scaler, logistic = fitted.steps[0][1], fitted.steps[1][1]
    test_x, test_y = features(data["test"][0]), data["test"][1]
    test_p = fitted.predict_proba(test_x)[:, 1]
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out / "subjectivity.npz",
        mean=scaler.mean_.astype(np.float32),
        scale=scaler.scale_.astype(np.float32),
        coef=logistic.coef_[0].astype(np.float32),
        intercept=np.float32(logistic.intercept_[0]),
    )
    meta = {
        "data": "NewsSD-ENG (Antici et al., LREC-COLING 2024), CC BY 4.0",
        "sha256": {s: data[s][2] for s in SPLITS},
        "trained_on": "train + val",
        "features": "all-MiniLM-L6-v2 token states, mean-pooled per layer, averaged over layers",
        "model": "logistic regression, L2, balanced class weights, standardised inputs",
        "C": c,
        "C_grid": list(C_GRID),
        "cv": {"folds": 5, "seed": SEED, "auc": round(roc_auc(y, oof[c]), 4)},
        "threshold": threshold,
        "test": _scores(test_y, test_p, threshold),
    }
    (args.out / "subjectivity.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))


def _scores(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    preds = scores >= threshold
    return {
        "n": len(labels),
        "macro_f1": round(macro_f1(labels, preds), 4),
        "balanced_accuracy": round(balanced_accuracy(labels, preds), 4),
        "auc": round(roc_auc(labels, scores), 4),
    }


if __name__ == "__main__":
    main()
