"""Checks a neutral rewording against the sentence it rewords, in code.

A rewording (the model's, or a minimal edit made in code from the tagged words when the
model's fails or was not asked for) is kept only when it keeps the sentence's specifics
(numbers, dates, names), shares most of its content words, says something other than the
sentence, and scores a lower P(subjective) than it; otherwise it is dropped and the report
says why. The checks also catch a rewording the model attached to the wrong sentence: it
shares too few of that sentence's words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.signals.cues import outside_quotes
from pipeline.signals.framing import FramingSpan
from pipeline.signals.minimal_edit import minimal_edit
from pipeline.signals.subjectivity import embed_and_classify
from schemas.sentence import Sentence

MIN_SHARED = 0.5  # share of the sentence's content words the rewording keeps
NUMBER = re.compile(r"\d[\d,.]*\d|\d")
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'-]+")
WORD = re.compile(r"[a-z][a-z’'-]{2,}")
STOPWORDS = frozenset(
    re.findall(
        r"\S+",
        "the and for that this with from have has had was were are been being will would "
        "could should may might can its his her their they them there then than into onto "
        "over under about after before while which who whom whose what when where why how "
        "not but also any all some such only very more most other another each both just one "
        "two said says says’ it’s",
    )
)


def content_words(text: str) -> set[str]:
    """The sentence's lower-cased words of three letters or more, stop words left out."""
    return {w.strip("’'-") for w in WORD.findall(text.lower())} - STOPWORDS


def specifics(text: str) -> set[str]:
    """Numbers and capitalised names in the writer's words (not the sentence's first word)."""
    own = outside_quotes(text).replace("’", "'")
    names = {re.sub(r"'s$", "", m.group()) for m in NAME.finditer(own)}
    return set(NUMBER.findall(own)) | names


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def rewording_problem(
    original: str, rewording: str, *, p_original: float, p_rewording: float
) -> str | None:
    """Why ``rewording`` cannot stand for ``original`` (None: it passes every check).
    ``p_original`` and ``p_rewording`` are the classifier's P(subjective) of each."""
    if _norm(original) == _norm(rewording):
        return "it repeats the sentence"
    lowered = rewording.lower().replace("’", "'")
    lost = sorted(s for s in specifics(original) if s.lower() not in lowered)
    if lost:
        return "it drops " + ", ".join(lost[:3])
    words = content_words(original)
    shared = len(words & content_words(rewording)) / max(1, len(words))
    if shared < MIN_SHARED:
        return f"it shares {shared:.0%} of the sentence's content words (at least {MIN_SHARED:.0%})"
    if p_rewording >= p_original:
        return f"it is no less subjective (P(subjective) {p_rewording:.2f} vs {p_original:.2f})"
    return None


def rewording_problems(originals: Sequence[str], rewordings: Sequence[str]) -> list[str | None]:
    """``rewording_problem`` of each rewording against its original (None: it passes), their
    P(subjective) read in one MiniLM pass."""
    if not originals:
        return []
    p = embed_and_classify([*originals, *rewordings]).probabilities
    n = len(originals)
    return [
        rewording_problem(o, r, p_original=float(p[k]), p_rewording=float(p[n + k]))
        for k, (o, r) in enumerate(zip(originals, rewordings, strict=True))
    ]


def verified_rewordings(
    chosen: Sequence[Sentence], rewordings: Sequence[tuple[int, str]]
) -> tuple[dict[int, str], list[str]]:
    """The model's rewordings that pass the checks (pipeline.signals.rewording), keyed to the
    sentence they reword: one keyed to the wrong flagged sentence moves to the one it passes
    for. The rest are dropped, each with the reason."""
    by_id = {s.id: s for s in chosen}
    if not rewordings:
        return {}, []
    p_of, p_texts = _subjectivity(chosen, [t for _, t in rewordings])
    kept: dict[int, str] = {}
    dropped = []
    for (key, text), p in zip(rewordings, p_texts, strict=True):

        def problem(n: int, text: str = text, p: float = float(p)) -> str | None:
            return rewording_problem(by_id[n].text, text, p_original=p_of[n], p_rewording=p)

        order = [key] if key in by_id else []
        order += [n for n in by_id if n != key]
        fits = next((n for n in order if n not in kept and problem(n) is None), None)
        if fits is not None:
            kept[fits] = text
        elif key in by_id:
            dropped.append(f"sentence {key}: {problem(key)}")
    return kept, dropped


def _subjectivity(
    originals: Sequence[Sentence], texts: list[str]
) -> tuple[dict[int, float], list[float]]:
    """The classifier's P(subjective) of each original (by id) and of each candidate text, in
    one MiniLM pass."""
    probabilities = [
        float(p) for p in embed_and_classify([s.text for s in originals] + texts).probabilities
    ]
    by_id = {s.id: p for s, p in zip(originals, probabilities, strict=False)}
    return by_id, probabilities[len(originals) :]


def _edits(text: str, spans: Sequence[FramingSpan]) -> str | None:
    return minimal_edit(text, [(sp.start, sp.end, sp.kind.value) for sp in spans])


def minimal_rewordings(
    sentences: Sequence[Sentence], spans: dict[int, list[FramingSpan]], done: set[int]
) -> tuple[dict[int, str], list[str]]:
    """For each sentence with tagged words and no kept rewording (not in ``done``): the
    minimal edit of its tagged words (pipeline.signals.minimal_edit), kept when it passes the
    same checks as the model's rewordings; the dropped ones with the reason."""
    todo = [(s, _edits(s.text, spans[s.id])) for s in sentences if s.id not in done and spans[s.id]]
    edited = [(s, text) for s, text in todo if text]
    found = rewording_problems([s.text for s, _ in edited], [t for _, t in edited])
    kept, dropped = {}, []
    for (sentence, text), problem in zip(edited, found, strict=True):
        if problem is None:
            kept[sentence.id] = text
        else:
            dropped.append(f"sentence {sentence.id} (minimal edit): {problem}")
    return kept, dropped


def minimal_headline(title: str) -> tuple[str | None, str | None]:
    """The headline's minimal edit from its tagged words, if it passes the headline's checks
    (None and why otherwise; None and None when no word of it is tagged)."""
    from pipeline.signals.tagger import reported, tag_texts

    [found] = tag_texts([title])
    spans = reported(found)
    edited = _edits(title, spans) if spans else None
    if edited is None:
        return None, None
    kept, why = verified_headline(title, edited)
    return kept, why.replace(
        "neutral headline:", "neutral headline (minimal edit):"
    ) if why else None


def verified_headline(title: str | None, neutral: str | None) -> tuple[str | None, str | None]:
    """The model's neutral headline if it passes its checks, else None and why: it must
    differ from the headline, not be punctuated as clickbait (! or ?), and score a lower
    P(subjective) than the headline."""
    if not title or not neutral:
        return neutral, None
    if _norm(title) == _norm(neutral):
        return None, "neutral headline: it repeats the headline"
    if any(mark in neutral for mark in "!?"):
        return None, "neutral headline: it is punctuated as clickbait (! or ?)"
    p_title, p_neutral = (float(p) for p in embed_and_classify([title, neutral]).probabilities)
    if p_neutral >= p_title:
        return None, (
            f"neutral headline: it is no less subjective (P(subjective) {p_neutral:.2f} vs "
            f"{p_title:.2f})"
        )
    return neutral, None
