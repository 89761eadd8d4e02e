"""How many sentences with a loaded word get a neutral rewording made in code, on labelled rows.

    python bench/rewording_coverage.py [ROWS.jsonl] [--sample 0]

Each row's ``text`` (default ``../shared/dev/spans/babe-dev.jsonl``, the rows of `newsaudit
eval --task spans`) is tagged as a one-sentence article, as the spans task tags it. For every
sentence with a reported span of medium severity (any kind but an intensifier, as the bias
stage grades them), the minimal edit of its spans (pipeline.signals.minimal_edit) is made and
put through the rewordings' checks (pipeline.signals.rewording.rewording_problems). Prints the
share kept with a bootstrap 95% interval, why the rest have none (no safe edit, or the check
that dropped the edit), and the same split per span kind. ``--sample N`` also prints N
sentences with their kept edits, to read (the rows' licence may not allow more: BABE is
non-commercial, so print, do not commit). No model call: the model's rewordings come on top.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.evaluation.metrics import resample_ci  # noqa: E402
from pipeline.signals.framing import Framing  # noqa: E402
from pipeline.signals.minimal_edit import minimal_edit  # noqa: E402
from pipeline.signals.rewording import rewording_problems  # noqa: E402
from pipeline.signals.tagger import reported, tag_texts  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "dev" / "spans" / "babe-dev.jsonl"


def main() -> None:
    """Print the kept share, the reasons for the rest, and the split per span kind."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--sample", type=int, default=0)
    args = parser.parse_args()
    texts = [json.loads(x)["text"] for x in args.rows.read_text("utf-8").splitlines() if x.strip()]
    spans = [reported(found) for found in tag_texts(texts)]
    medium = [
        (t, s)
        for t, s in zip(texts, spans, strict=True)
        if any(sp.kind is not Framing.intensifier for sp in s)
    ]
    edits = [minimal_edit(t, [(sp.start, sp.end, sp.kind.value) for sp in s]) for t, s in medium]
    edited = [(n, e) for n, e in enumerate(edits) if e is not None]
    found = rewording_problems([medium[n][0] for n, _ in edited], [e for _, e in edited])
    why: list[str] = ["no safe edit"] * len(medium)
    for (n, _), problem in zip(edited, found, strict=True):
        why[n] = "kept" if problem is None else problem.split(" (")[0]
    kept = np.array([w == "kept" for w in why], dtype=float)
    low, high = resample_ci(lambda rows: float(kept[rows].mean()), len(kept))
    share = f"{kept.mean():.3f} [{low:.3f}, {high:.3f}]"
    print(f"{args.rows.name}: {len(texts)} sentences, {len(medium)} with a loaded word of medium")
    print(f"severity; a minimal edit kept for {int(kept.sum())} = {share}")
    reasons = Counter("it drops a name or number" if w.startswith("it drops") else w for w in why)
    for reason, count in reasons.most_common():
        print(f"  {reason}: {count}")
    print("per span kind (sentences holding it): kept / all")
    for kind in Framing:
        holding = [n for n, (_, s) in enumerate(medium) if any(sp.kind is kind for sp in s)]
        if holding and kind is not Framing.intensifier:
            print(f"  {kind.value}: {int(kept[holding].sum())} / {len(holding)}")
    for n, edit in random.Random(0).sample(edited, min(args.sample, len(edited))):
        print(f"\n  {medium[n][0]}\n  -> {edit}  [{why[n]}]")


if __name__ == "__main__":
    main()
