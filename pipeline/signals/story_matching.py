"""Matching claims across sources for the story stage: pairwise similarity of their quotes,
candidate groups, and how the model's answer refines them.

Similarities come from float32 kernels whose last bits differ between CPUs, so two values
within ``TIE`` are equal: thresholds are met within it and ties are broken by a stated rule
(the claim or source that comes first), never by rounding noise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from schemas.story import StoryComparison

NEAR_IDENTICAL = 0.9  # rapidfuzz token_set_ratio / 100: the measure without embeddings
# Similarities are computed with float32 BLAS kernels that differ between CPUs in their last
# bits. Two values closer than this are equal: thresholds are met within it, and ties are broken
# by a stated rule (the claim or source that comes first), never by rounding noise.
TIE = 1e-6


def reaches(value: float, threshold: float) -> bool:
    """``value >= threshold``, within the rounding noise of the similarity kernels."""
    return float(value) >= threshold - TIE


def similarities(quotes: list[str], *, embeddings: bool) -> np.ndarray:
    """Pairwise similarity in [0, 1]-ish: embedding cosine, else rapidfuzz token-set ratio."""
    if embeddings:
        from pipeline.signals.embeddings import cosine_matrix

        return cosine_matrix(quotes).astype(np.float64)
    scores = process.cdist(quotes, quotes, scorer=fuzz.token_set_ratio, processor=default_process)
    return np.asarray(scores, dtype=np.float64) / 100.0


def ranked(scored: Iterable[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """Pairs from the most similar down; a run of scores each within ``TIE`` of the next is a
    tie, kept in claim order (the pair with the earlier claims first)."""
    ordered = sorted(scored, key=lambda s: -s[0])
    out: list[tuple[int, int]] = []
    run: list[tuple[float, int, int]] = []
    for item in ordered:
        if run and run[-1][0] - item[0] > TIE:
            out += sorted((i, j) for _, i, j in run)
            run = []
        run.append(item)
    return out + sorted((i, j) for _, i, j in run)


def most_central(members: list[str], sims: np.ndarray, ids: list[str]) -> str:
    """The member most similar to the others (largest similarity sum); sums within ``TIE``
    of the largest are a tie, won by the member that comes first in claim order (the earliest
    source, then the earliest claim)."""
    ordered = sorted(members, key=ids.index)
    rows = [ids.index(i) for i in ordered]
    sums = sims[np.ix_(rows, rows)].sum(axis=1)
    best = float(sums.max())
    return next(i for i, total in zip(ordered, sums, strict=True) if total >= best - TIE)


def candidate_groups(ids: list[str], sims: np.ndarray, threshold: float) -> list[list[str]]:
    """Complete-linkage groups of claims from different sources: the most similar pairs are
    joined first, and two groups merge only when every cross pair reaches the threshold and
    no source would appear twice. Groups of one claim are left out."""
    groups: list[list[int]] = [[i] for i in range(len(ids))]
    home = list(range(len(ids)))
    pairs = ranked(
        (float(sims[i, j]), i, j)
        for i in range(len(ids))
        for j in range(i + 1, len(ids))
        if ids[i][0] != ids[j][0] and reaches(sims[i, j], threshold)
    )
    for i, j in pairs:
        a, b = home[i], home[j]
        if a == b:
            continue
        left, right = groups[a], groups[b]
        if {ids[x][0] for x in left} & {ids[x][0] for x in right}:
            continue
        if not all(reaches(sims[x, y], threshold) for x in left for y in right):
            continue
        groups[a], groups[b] = left + right, []
        for x in right:
            home[x] = a
    return [sorted((ids[x] for x in g), key=ids.index) for g in groups if len(g) > 1]


@dataclass
class Fact:
    members: list[str]
    statement: str | None = None
    against: list[str] = field(default_factory=list)
    note: str | None = None
    matched_by: Literal["model", "similarity"] = "similarity"


def _linked(
    claim_id: str, others: list[str], sims: np.ndarray, ids: list[str], floor: float
) -> bool:
    """Whether a claim is at least `floor` similar to one claim of another source."""
    row = ids.index(claim_id)
    return any(reaches(sims[row, ids.index(o)], floor) for o in others if o[0] != claim_id[0])


def merge_groups(
    comparison: StoryComparison,
    candidates: list[list[str]],
    sims: np.ndarray,
    ids: list[str],
    floor: float,
) -> tuple[list[Fact], list[str]]:
    """Candidate groups are the facts; the model's answer refines them. A model group that
    shares claims with one candidate confirms it (two or more shared), gives it its note,
    marks contradicting claims, and may add claims at least `floor` similar to a member; one
    that joins claims of two candidates is set aside. A model group outside every candidate
    becomes a fact when each of its claims is at least `floor` similar to a claim of another
    source in it. Returns the facts and why model answers were set aside."""
    facts = [Fact(members=list(g)) for g in candidates]
    placed = {i: n for n, g in enumerate(candidates) for i in g}
    dropped: list[str] = []
    # Candidates are kept whole: a small model that leaves a claim out of a group it confirms
    # has not shown that the claim states another fact.
    known = len(facts)
    for group in comparison.groups:
        shared = {placed[i] for i in group.claims if placed.get(i, known) < known}
        if len(shared) > 1:
            dropped.append(
                f"group {group.claims} joins claims of different candidate groups; kept apart"
            )
            continue
        if shared:
            n = shared.pop()
            fact = facts[n]
            # The fact keeps its most central claim's words as its statement (a claim one
            # source really made); the model confirms it when it groups two of its claims.
            if len(set(group.claims) & set(fact.members)) >= 2:
                fact.matched_by = "model"
            fact.note = fact.note or group.note
            for claim_id in group.contradicting:
                if placed.get(claim_id, n) != n or claim_id in fact.against:
                    continue
                if claim_id in fact.members:
                    fact.members.remove(claim_id)
                fact.against.append(claim_id)
                placed[claim_id] = n
            for claim_id in group.claims:
                if claim_id in placed:
                    continue
                if _linked(claim_id, fact.members, sims, ids, floor):
                    fact.members.append(claim_id)
                    placed[claim_id] = n
                else:
                    dropped.append(f"{claim_id} is not similar to '{group.statement}'")
            continue
        free = [i for i in group.claims if i not in placed]
        members = [i for i in free if _linked(i, free, sims, ids, floor)]
        against = [i for i in group.contradicting if i not in placed and i not in members]
        dropped += [f"{i} is not similar to '{group.statement}'" for i in free if i not in members]
        if len({i[0] for i in members}) < 2 and not (members and against):
            continue
        facts.append(Fact(members, group.statement, against, group.note, "model"))
        for claim_id in members + against:
            placed[claim_id] = len(facts) - 1
    return [f for f in facts if len({i[0] for i in f.members + f.against}) >= 2], dropped
