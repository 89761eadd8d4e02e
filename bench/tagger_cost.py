"""CPU time of the word tagger per article, beside the MiniLM pass it reads.

    python bench/tagger_cost.py [--repeat 5] [ARTICLE ...]

For each article (default: the five seeds, cleaned and cut into sentences as `newsaudit check`
does): the seconds of the MiniLM pass over its sentences (`embed_and_classify`, made once per
article whatever the tagger does) and of the tagger over the same pass (candidates, features,
probabilities; `pipeline.signals.tagger.tag`), each the median of ``--repeat`` runs, with the
sentence and candidate counts. The tagger's budget is 20 ms per article beyond the pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.signals.attribution import attribute  # noqa: E402
from pipeline.signals.subjectivity import embed_and_classify  # noqa: E402
from pipeline.signals.tagger import tag  # noqa: E402
from pipeline.stages.clean import clean  # noqa: E402
from pipeline.text.ingest import read_document  # noqa: E402
from pipeline.text.sentences import segment  # noqa: E402


def main() -> None:
    """Print one row per article: sentences, candidates, pass ms, tagger ms."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("articles", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    paths = args.articles or sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
    print("| article | sentences | tagged words | MiniLM pass ms | tagger ms |")
    print("|---|---|---|---|---|")
    embed_and_classify(["warm-up"])  # load the model once, outside the timings
    for path in paths:
        segments = segment(clean(read_document(str(path))))
        texts = [s.text for s in segments]
        named = [a is not None and a.named for a in attribute(segments)]
        passes, tags = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            scored = embed_and_classify(texts)
            passes.append(time.perf_counter() - start)
            start = time.perf_counter()
            found = [
                tag(t, scored.tokens[n], scored.offsets[n], float(p), attributed=named[n])
                for n, (t, p) in enumerate(zip(texts, scored.probabilities, strict=True))
            ]
            tags.append(time.perf_counter() - start)
        words = sum(len(f) for f in found)
        print(
            f"| {path.name} | {len(texts)} | {words} | {1000 * statistics.median(passes):.0f} "
            f"| {1000 * statistics.median(tags):.1f} |"
        )


if __name__ == "__main__":
    main()
