"""Sentence numbers the model cites, checked against what it wrote with them.

A small model often writes the right words with the wrong number (the sentence before, a
heading next to it). Like a near-miss quote snapped to the article's own words, a citation
is moved to the sentence that says what the model wrote when that sentence is clearly closer
(embedding cosine), and the move is counted as a repair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pipeline.text.sentences import Segment

MARGIN = 0.1  # how much closer another sentence must be to take the citation
FLOOR = 0.5  # the least similarity at which a sentence can be said to say it
KEEP = 0.3  # a cited sentence this similar still counts as a source of a point


@dataclass(frozen=True)
class SentenceIndex:
    """The unit embeddings of an article's sentences, by sentence id."""

    segments: Sequence[Segment]
    vectors: NDArray[np.float32]

    def similarities(self, vector: NDArray[np.float32], ids: set[int]) -> dict[int, float]:
        """Cosine of ``vector`` with each sentence whose id is in ``ids`` (headings left out)."""
        return {
            seg.id: float(self.vectors[n] @ vector)
            for n, seg in enumerate(self.segments)
            if seg.id in ids and not seg.heading
        }


def repoint(
    vector: NDArray[np.float32], cited: Sequence[int], index: SentenceIndex, shown: set[int]
) -> tuple[list[int], list[str]]:
    """The citations to keep for a text with embedding ``vector``: cited sentences that say
    it, then the sentence that says it best when that one is clearly closer than any cited
    (so an added sentence comes last); returns them and a note per change."""
    sims = index.similarities(vector, shown)
    if not sims:
        return list(dict.fromkeys(cited)), []
    best = max(sims, key=lambda i: (sims[i], -i))
    kept = [i for i in dict.fromkeys(cited) if sims.get(i, -1.0) >= KEEP]
    top = max((sims[i] for i in kept), default=-1.0)
    notes = [
        f"sentence {i} dropped (cosine {sims.get(i, 0.0):.2f})" for i in cited if i not in kept
    ]
    if sims[best] >= FLOOR and sims[best] - top > MARGIN and best not in kept:
        kept.append(best)
        notes.append(f"sentence {best} added (cosine {sims[best]:.2f} vs {max(top, 0):.2f})")
    if not kept:  # nothing the text says is in a cited sentence: keep the closest one
        kept = [best]
        notes.append(f"sentence {best} cited instead (cosine {sims[best]:.2f})")
    return kept, notes


def repoint_all(
    texts: Sequence[str], cited: Sequence[Sequence[int]], index: SentenceIndex, shown: set[int]
) -> tuple[list[list[int]], list[str]]:
    """``repoint`` for several texts at once (one embedding pass)."""
    from pipeline.signals.embeddings import embedded_model

    if not texts:
        return [], []
    vectors = embedded_model().embed(list(texts))
    out, notes = [], []
    for vector, ids in zip(vectors, cited, strict=True):
        kept, changed = repoint(vector, ids, index, shown)
        out.append(kept)
        notes += changed
    return out, notes
