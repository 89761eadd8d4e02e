"""Train the loaded-word tagger shipped in pipeline/data/ (tagger.npz, tagger.json).

    python -m train.tagger [--rows train/data/loaded-words.jsonl]
                           [--choose-on ../shared/dev/spans/babe-dev.jsonl] [--out pipeline/data]
    python -m train.tagger --merge   # the annotators' files -> the rows file

Labels: the project's own annotation, by the guideline in docs/annotation.md, of NewsSD-ENG's
train and validation sentences (CC BY 4.0) and of the sentences of SummEdits' 25 news
documents (Apache-2.0); a candidate word (pipeline.signals.tagger) is
loaded when it overlaps an annotated span. Features: the candidate's named features (lexicon
scores and kinds, the sentence classifier's token logits on its pieces, the sentence's
P(subjective), capitalisation) and its word pieces' mean MiniLM state, standardised. Model: an
L2-regularised logistic regression (no class weights: its probabilities keep the annotation's
base rate); the regularisation strength is chosen by 5-fold cross-validation grouped by
sentence (fixed seed), by ROC AUC.

The threshold: with ``--choose-on`` (labelled spans in the `newsaudit eval --task spans` row
format, used only to choose it, never fitted on), the one with the best span F1 among those
whose false-alarm rate (sentences without a gold span that get a span) is at most
MAX_FALSE_ALARMS - MARGIN; without it, the best span F1 on the out-of-fold predictions. Needs
scikit-learn (`pip install -e ".[train]"`) and the embedding model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.evaluation.span_metrics import count_table, false_alarm_rate, span_f1
from pipeline.signals.embeddings import embedded_model
from pipeline.signals.framing import FramingSpan
from pipeline.signals.subjectivity import classifier
from pipeline.signals.tagger import (
    FEATURES,
    Candidate,
    candidates,
    feature_matrix,
    tag_texts,
    tagger,
)

SEED = 0
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)
MAX_FALSE_ALARMS = 0.15
# Kept free under MAX_FALSE_ALARMS for the spread between two sets of the same kind: halves of
# BABE's dev rows, each choosing the threshold for the other, differed by 0.04 in false alarms.
MARGIN = 0.02
ROOT = Path(__file__).resolve().parent.parent
ROWS = ROOT / "train" / "data" / "loaded-words.jsonl"
NEWSSD = ROOT / "pipeline" / "data" / "newssd-eng"


def merge(folder: Path = ROOT / "train" / "annotation", out: Path = ROWS) -> None:
    """The annotators' word lists as character spans of their sentences, one row each (the
    sentences are those of the batch files the annotators were given)."""
    rows = []
    for path in sorted(folder.glob("labels_*.jsonl"), key=lambda p: int(p.stem.split("_")[1])):
        batch = folder / path.name.replace("labels_", "batch_")
        texts = {
            r["id"]: r["text"]
            for r in map(json.loads, batch.read_text(encoding="utf-8").splitlines())
        }
        for line in path.read_text(encoding="utf-8").splitlines():
            labelled = json.loads(line)
            text = texts[labelled["id"]]
            spans, kinds = [], []
            for word in labelled["words"]:
                at = -1
                for _ in range(int(word.get("occurrence", 1))):
                    at = text.index(word["text"], at + 1)  # ValueError: not in the sentence
                spans.append([at, at + len(word["text"])])
                kinds.append(word["kind"])
            source = "summedits-news" if labelled["id"].startswith("summedits-") else "newssd-eng"
            rows.append(
                {
                    "id": labelled["id"],
                    "text": text,
                    "spans": spans,
                    "kinds": kinds,
                    "source": source,
                }
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    print(f"{len(rows)} sentences, {sum(len(r['spans']) for r in rows)} spans -> {out}")


def read(path: Path) -> tuple[list[dict[str, Any]], str]:
    """Rows of a spans file and its sha256."""
    raw = path.read_bytes()
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()], hashlib.sha256(
        raw
    ).hexdigest()


def design(
    rows: list[dict[str, Any]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[Candidate]]]:
    """Features, labels and sentence index of every candidate, and the candidates per row."""
    texts = [r["text"] for r in rows]
    encoded = embedded_model().encode(texts)
    probabilities = classifier().probabilities(encoded.layers)
    blocks, labels, groups, found_all = [], [], [], []
    for n, row in enumerate(rows):
        found = candidates(row["text"])
        found_all.append(found)
        if not found:
            continue
        named, states = feature_matrix(
            row["text"], found, encoded.tokens[n], encoded.offsets[n], float(probabilities[n])
        )
        blocks.append(np.hstack([named, states]))
        gold = [tuple(s[:2]) for s in row["spans"]]
        labels += [
            any(a < e and s < b for s, e in gold) for a, b in ((c.start, c.end) for c in found)
        ]
        groups += [n] * len(found)
    return np.vstack(blocks), np.array(labels), np.array(groups), found_all


def span_counts(
    rows: list[dict[str, Any]], found: list[list[Candidate]], scores: np.ndarray, cut: float
) -> np.ndarray:
    """Per-sentence span counts at a threshold (scores in candidate order)."""
    predicted, k = [], 0
    for cands in found:
        mine = scores[k : k + len(cands)]
        predicted.append([(c.start, c.end) for c, p in zip(cands, mine, strict=True) if p >= cut])
        k += len(cands)
    return count_table([[tuple(s[:2]) for s in r["spans"]] for r in rows], predicted)


def choose_spans(rows: list[dict[str, Any]], tagged: list[list[FramingSpan]]) -> dict[str, float]:
    """``choose`` on the tagger's own output (every span it returns, with its probability)."""
    found = [[Candidate(s.start, s.end, s.kind, {}, ()) for s in spans] for spans in tagged]
    scores = np.array([s.probability for spans in tagged for s in spans])
    return choose(rows, found, scores)


def choose(
    rows: list[dict[str, Any]], found: list[list[Candidate]], scores: np.ndarray
) -> dict[str, float]:
    """The threshold with the best span F1 whose false alarms stay MARGIN under
    MAX_FALSE_ALARMS."""
    best: dict[str, float] = {}
    for cut in np.round(np.arange(0.05, 0.96, 0.01), 2):
        counts = span_counts(rows, found, scores, float(cut))
        try:
            f1, alarms = span_f1(counts), false_alarm_rate(counts)
        except ValueError:
            continue
        if alarms <= MAX_FALSE_ALARMS - MARGIN and f1 > best.get("f1", -1.0):
            best = {"threshold": float(cut), "f1": round(f1, 4), "false_alarms": round(alarms, 4)}
    return best


def main() -> None:
    """Fit, choose C by grouped cross-validation, choose the threshold, write the weights."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=Path, default=ROWS)
    parser.add_argument("--choose-on", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "pipeline" / "data")
    parser.add_argument("--merge", action="store_true")
    args = parser.parse_args()
    if args.merge:
        merge()
        return
    rows, sha = read(args.rows)
    x, y, groups, found = design(rows)
    folds = list(GroupKFold(n_splits=5).split(x, y, groups))

    def model(c: float) -> Any:
        return LogisticRegression(C=c, max_iter=5000, random_state=SEED)

    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    out_of_fold: dict[float, np.ndarray] = {}
    for c in C_GRID:
        oof = np.zeros(len(y))
        for fit_rows, held in folds:
            oof[held] = model(c).fit(z[fit_rows], y[fit_rows]).predict_proba(z[held])[:, 1]
        out_of_fold[c] = oof
        print(f"C={c}: out-of-fold candidate AUC {roc_auc_score(y, oof):.4f}")
    best_c = max(C_GRID, key=lambda c: roc_auc_score(y, out_of_fold[c]))
    fitted = model(best_c).fit(z, y)
    chosen_on = choose(rows, found, out_of_fold[best_c])
    meta: dict[str, Any] = {
        "features": [*FEATURES, *(f"state_{i}" for i in range(x.shape[1] - len(FEATURES)))],
        "data": str(args.rows.relative_to(ROOT))
        if args.rows.is_relative_to(ROOT)
        else str(args.rows),
        "data_sha256": sha,
        "sentences": len(rows),
        "candidates": len(y),
        "loaded": int(y.sum()),
        "C": best_c,
        "out_of_fold": {
            "candidate_auc": round(float(roc_auc_score(y, out_of_fold[best_c])), 4),
            **chosen_on,
        },
        "threshold": chosen_on.get("threshold", 0.5),
        "threshold_rule": f"best span F1 with false alarms <= {MAX_FALSE_ALARMS - MARGIN:.2f}",
    }
    np.savez(
        args.out / "tagger.npz",
        mean=mean,
        scale=scale,
        coef=fitted.coef_[0],
        intercept=fitted.intercept_,
    )
    if args.choose_on is not None:  # the shipped path (pipeline.signals.tagger) on it
        (args.out / "tagger.json").write_text(json.dumps(meta), encoding="utf-8")
        tagger.cache_clear()
        dev, dev_sha = read(args.choose_on)
        tagged = tag_texts([r["text"] for r in dev])
        on_dev = choose_spans(dev, tagged)
        meta |= {"threshold": on_dev["threshold"], "threshold_chosen_on": args.choose_on.name}
        meta |= {"threshold_set_sha256": dev_sha, "on_threshold_set": on_dev}
    (args.out / "tagger.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in meta.items() if k != "features"}, indent=2))


if __name__ == "__main__":
    main()
