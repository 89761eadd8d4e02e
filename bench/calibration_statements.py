"""The statement checker of a calibration profile against the shipped one, on sets neither
was fitted with: FactCC + SummEval (near-extractive CNN/DailyMail) and XSumFaith
(abstractive BBC), from ../shared/dev/faithfulness (their documents stay outside the repo).

A profile's statement weights are fitted on SummEdits news only (`newsaudit calibrate`), so
these sets are left out for it. The shipped weights were fitted on these very rows with the
embedded 1.5B model's answers; their row here is in-sample and flatters them. Each
combination is read at its own threshold, as `verify` reads it. The model's answers come
from a probe cache (`train/faithfulness-probes*.jsonl`: the one-letter question of
prompts/verify.j2, ids and probabilities), the retrieved sentences from train/faithfulness.py's
evidence cache.

    python bench/calibration_statements.py PROFILE --probes train/faithfulness-probes-0.5b.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.evaluation.calibrate import statement_scores  # noqa: E402
from pipeline.evaluation.metrics import summarize  # noqa: E402
from pipeline.signals.subjectivity import combination_from, load_combination  # noqa: E402
from pipeline.stages.verify import features  # noqa: E402
from train.faithfulness import _read, all_evidence, load_rows  # noqa: E402


def main() -> None:
    """Print balanced accuracy, macro-F1 and AUC (bootstrap 95% intervals) per group."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--probes", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/dev/faithfulness")
    parser.add_argument("--evidence", type=Path, default=ROOT / "build/faithfulness-evidence.jsonl")
    args = parser.parse_args()
    profile = json.loads(args.profile.read_text(encoding="utf-8"))
    rows = load_rows(args.data)
    found = all_evidence(rows, args.evidence)
    known = _read(args.probes)
    values = [
        features(r["claim"], e, doc, known.get(r["id"]))
        for r, (e, doc) in zip(rows, found, strict=True)
    ]
    answered = [known.get(r["id"]) is not None for r in rows]
    y = np.array([bool(r["label"]) for r in rows])
    sets = np.array([r["set"] for r in rows])
    read_by = {
        "profile (fitted on SummEdits news only)": combination_from(profile["statements"]),
        "shipped (fitted on these rows, 1.5B answers)": load_combination("faithfulness.json"),
    }
    print(f"profile {args.profile.name}: {profile['model']} ({profile['signal']})")
    print("| rows | weights | n | balanced accuracy [95%] | macro-F1 [95%] | AUC [95%] |")
    print("|---|---|---|---|---|---|")
    for group, mask in (
        ("FactCC + SummEval", np.isin(sets, ("factcc", "summeval"))),
        ("XSumFaith", sets == "xsumfaith"),
    ):
        for name, fitted in read_by.items():
            s = statement_scores(values, answered, fitted)
            summary = summarize("faithfulness", y[mask], s[mask], 0.5)
            cells = [
                " ".join(e.render())
                for e in (summary.balanced_accuracy, summary.macro_f1, summary.auc)
            ]
            print(f"| {group} | {name} | {summary.n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
