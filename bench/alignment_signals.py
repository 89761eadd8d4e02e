"""How well each alignment signal separates supported from unsupported statements.

Reads the faithfulness dev sets (`{factcc,summeval,xsumfaith}.jsonl`, rows with "document",
"claim" and "label", label true = supported), computes `alignment_signals(claim, document)`
for each row and prints per dataset: n, positives (supported rows), and for each feature its
AUC for predicting label=false plus how often it fires (value > 0) on supported and on
unsupported rows; then the AUC of the sum of the four binary flags (numbers, dates, names,
negation), of that sum plus `misplaced`, and of that sum plus the novel-content ratio.

    python bench/alignment_signals.py                          # ../shared/dev/faithfulness
    python bench/alignment_signals.py /path/to/faithfulness --show 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.signals.alignment import FEATURE_NAMES, alignment_signals, explain, feature_vector  # noqa: E402

DATASETS = ("factcc", "summeval", "xsumfaith")
BINARY = ("numbers_missing", "dates_missing", "names_missing", "negation_mismatch")


def auc(scores: np.ndarray, unsupported: np.ndarray) -> float:
    """Probability that an unsupported row scores above a supported one (ties count half)."""
    pos, neg = scores[unsupported], scores[~unsupported]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)


def load(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def report(name: str, rows: list[dict[str, object]], show: int) -> None:
    started = time.perf_counter()
    signals = [alignment_signals(str(r["claim"]), str(r["document"])) for r in rows]
    x = np.array([feature_vector(s) for s in signals])
    unsupported = np.array([not r["label"] for r in rows])
    seconds = time.perf_counter() - started
    cased = sum(any(c.isupper() for c in str(r["claim"])) for r in rows)  # else names are recased
    print(f"\n{name}: n={len(rows)} supported={int((~unsupported).sum())} ", end="")
    print(f"claims with capitals={cased} ({seconds:.1f} s)")
    print(f"  {'feature':24} {'AUC':>6} {'fires|supp':>11} {'fires|unsupp':>13}")
    for j, feature in enumerate(FEATURE_NAMES):
        fires = x[:, j] > 0
        supp, unsupp = fires[~unsupported].mean(), fires[unsupported].mean()
        print(f"  {feature:24} {auc(x[:, j], unsupported):6.3f} {supp:11.1%} {unsupp:13.1%}")
    flags = x[:, [FEATURE_NAMES.index(f) for f in BINARY]].sum(axis=1)
    print(f"  {'sum of binary flags':24} {auc(flags, unsupported):6.3f}")
    placed = flags + x[:, FEATURE_NAMES.index("misplaced")]
    print(f"  {'flags + misplaced':24} {auc(placed, unsupported):6.3f}")
    combined = flags + x[:, FEATURE_NAMES.index("novel_content_ratio")]
    print(f"  {'flags + novel ratio':24} {auc(combined, unsupported):6.3f}")
    false_alarms = [(r, s) for r, s in zip(rows, signals, strict=True) if r["label"] and s.flags]
    for row, sig in false_alarms[:show]:
        print(f"  supported but flagged: {row['id']}: {'; '.join(explain(sig))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT / "../shared/dev/faithfulness")
    parser.add_argument("--show", type=int, default=0, help="print flagged supported rows")
    args = parser.parse_args()
    for name in DATASETS:
        report(name, load(args.data / f"{name}.jsonl"), args.show)


if __name__ == "__main__":
    main()
