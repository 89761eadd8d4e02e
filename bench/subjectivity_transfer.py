"""How the sentence subjectivity scorer transfers to another labelled set, and what the
variants tried for issue 17 would give there.

Each variant is fitted on NewsSD-ENG train + val as `python -m train.combination` fits the
shipped one (logistic regressions with and without the model's answers, thresholds by macro-F1
on 5-fold out-of-fold predictions) and scored on NewsSD-ENG test and on ROWS; nothing is
chosen on ROWS. The last column, the best macro-F1 at any threshold on ROWS, is chosen on ROWS
itself: a ceiling for the threshold, not a result.

    python bench/subjectivity_transfer.py ROWS [--probes ROWS-probes.jsonl]

ROWS: {"id","text","label"} lines (label true = subjective), e.g. the CheckThat! 2024 English
test set (not committed; see docs/measurements.md). The model's answers for ROWS are asked of
the configured model (default: the embedded one) once and cached in --probes; NewsSD's come
from the committed train/newssd-probes.jsonl. Needs scikit-learn (`pip install -e ".[train]"`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_settings  # noqa: E402
from pipeline.evaluation.fitting import (  # noqa: E402
    OWN_VOICE_FEATURES,
    best_threshold,
    fit,
    out_of_fold_classifier,
    production_scores,
    rows_of,
)
from pipeline.evaluation.metrics import balanced_accuracy, macro_f1, roc_auc  # noqa: E402
from pipeline.signals.attribution import attribute  # noqa: E402
from pipeline.signals.framing import Framing  # noqa: E402
from pipeline.signals.subjectivity import (  # noqa: E402
    BASE_FEATURES,
    MODEL_FEATURES,
    classifier,
    embed_and_classify,
)
from pipeline.signals.tagger import reported, tag_texts  # noqa: E402
from pipeline.text.sentences import whole  # noqa: E402
from train.combination import probes  # noqa: E402
from train.subjectivity import load  # noqa: E402

KINDS = tuple(k.value for k in Framing)
Rows = list[tuple[dict[str, float], bool]]


def with_framing(texts: list[str], rows: Rows) -> Rows:
    """Each row's signals plus its framing-span counts (per kind, and in all)."""
    out = []
    flags = [attribute(whole(text))[0] is not None for text in texts]
    tagged = tag_texts(texts, attributed=flags)
    for found, (values, own) in zip(tagged, rows, strict=True):
        spans = reported(found)
        counts = {k: float(sum(s.kind.value == k for s in spans)) for k in KINDS}
        out.append(({**values, **counts, "framing": float(len(spans))}, own))
    return out


def youden(y: np.ndarray, scores: np.ndarray) -> float:
    """The threshold with the best balanced accuracy (ties: nearest 0.5)."""
    grid = np.round(np.arange(0.2, 0.801, 0.01), 2)
    return float(max(grid, key=lambda t: (balanced_accuracy(y, scores >= t), -abs(t - 0.5))))


def variant(rows: Rows, y: np.ndarray, extra: tuple[str, ...], choose: Any) -> dict[str, Any]:
    """Both parts of a combination over the shipped signals plus ``extra``, fitted as
    `python -m train.combination` fits them (the model's part on own-voice rows only)."""
    own = [(values, label) for (values, o), label in zip(rows, y, strict=True) if o]
    return {
        "with_model": fit(
            [v for v, _ in own],
            np.array([label for _, label in own]),
            OWN_VOICE_FEATURES + MODEL_FEATURES + extra,
            choose,
        ),
        "without_model": fit([v for v, _ in rows], y, BASE_FEATURES + extra, choose),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=Path)
    parser.add_argument("--probes", type=Path, default=None, help="cache of the model's answers")
    parser.add_argument("--data", type=Path, default=ROOT / "pipeline" / "data" / "newssd-eng")
    args = parser.parse_args()
    settings = load_settings(None)
    cache = args.probes or args.rows.with_name(args.rows.stem + "-probes.jsonl")
    split = {s: load(args.data, s) for s in ("train", "val", "test")}
    ids = {s: [f"newssd-{s}-{n}" for n in range(len(split[s][0]))] for s in split}
    texts, y = (
        split["train"][0] + split["val"][0],
        np.concatenate([split["train"][1], split["val"][1]]),
    )
    oof, phrases = out_of_fold_classifier(texts, y, float(classifier().meta["C"]))
    answers = probes([], [], ROOT / "train" / "newssd-probes.jsonl", settings)
    fit_rows = with_framing(texts, rows_of(texts, ids["train"] + ids["val"], oof, phrases, answers))
    sets = {"NewsSD test": (split["test"][0], ids["test"], split["test"][1])}
    other = [json.loads(line) for line in args.rows.read_text().splitlines() if line.strip()]
    other_ids, other_texts = [r["id"] for r in other], [r["text"] for r in other]
    answers |= probes(other_ids, other_texts, cache, settings)
    sets[args.rows.stem] = (other_texts, other_ids, np.array([bool(r["label"]) for r in other]))
    scored = {}
    for name, (set_texts, set_ids, _) in sets.items():
        found = embed_and_classify(set_texts)
        base = rows_of(set_texts, set_ids, found.probabilities, found.phrases, answers)
        scored[name] = with_framing(set_texts, base)
    shipped = json.loads((ROOT / "pipeline" / "data" / "combination.json").read_text())
    variants = {
        "shipped combination": shipped,
        "refitted, same signals": variant(fit_rows, y, (), best_threshold),
        "+ framing-span count": variant(fit_rows, y, ("framing",), best_threshold),
        "+ framing-span counts per kind": variant(fit_rows, y, KINDS, best_threshold),
        "threshold by balanced accuracy": variant(fit_rows, y, (), youden),
    }
    header = " | ".join(f"{n} macro-F1 / AUC" for n in sets)
    print(f"| variant | {header} | best on {args.rows.stem} |")
    print("|---|" + "---|" * (len(sets) + 1))
    for label, parts in variants.items():
        cells, best = [], 0.0
        for name, (_, _, labels) in sets.items():
            s = production_scores(scored[name], parts)
            cells.append(f"{macro_f1(labels, s >= 0.5):.3f} / {roc_auc(labels, s):.3f}")
            grid = np.arange(0.1, 0.9, 0.01)
            best = max(macro_f1(labels, s >= t) for t in grid)
        print(f"| {label} | {' | '.join(cells)} | {best:.3f} |")


if __name__ == "__main__":
    main()
