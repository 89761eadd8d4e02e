"""Story stage: match the claims of several audited articles into facts across sources, then
work out who asserts, contradicts or omits each fact, and how each source frames the story.

1. Events: one short call per source asks which meeting or event it reports; a source whose
   event is unlike the others' is set apart, so its words never confirm or contradict theirs.
2. Pre-grouping: the claims' verbatim quotes are embedded (all-MiniLM-L6-v2, offline) and
   joined into candidate groups, at most one claim per source, every pair of members at least
   `story.similarity` apart in cosine (complete linkage, so similar-to-similar chains do not
   snowball). Without the embedding model, near-identical wording (rapidfuzz) is the measure.
3. One model call sees every claim and the candidate groups; code keeps the candidates whole
   and takes from the model's answer its confirmations, contradictions and notes, and the
   groups of its own that the quotes' similarity bears out (`merge_groups`). Titles that
   differ between sources are read from the texts (`title_details`).

The model only names claim ids, never new quotes: every quote in a story report is one the
single-article audit already verified against its own article."""

from __future__ import annotations

import re
import string
from typing import Any

import numpy as np

from pipeline.core.config import StorySettings
from pipeline.model.prompts import prompt_hash, render_messages, schema_guide
from pipeline.signals.story_matching import (
    NEAR_IDENTICAL,
    Fact,
    candidate_groups,
    merge_groups,
    most_central,
    reaches,
    similarities,
)
from pipeline.stages import StructuredLLM, call_stage
from pipeline.text.chunking import merge_metrics
from schemas.bias import BiasKind
from schemas.report import ArticleReport, StageMetrics
from schemas.story import (
    CrossClaim,
    InconsistentDetail,
    SourceEvent,
    SourceFraming,
    SourceRef,
    StoryComparison,
    StoryEvent,
    StoryReport,
)

# "former U.S. President Donald Trump": an optional former/ex-, an optional nationality or
# body, a title from this closed (English) list, then a capitalised name of one to three words.
TITLED_NAME = re.compile(
    r"\b(?P<former>(?:[Ff]ormer|[Ee]x-|[Tt]hen-)\s*)?"
    r"(?:(?:U\.S\.|US|American|Russian|Ukrainian|British|French|German|NATO|EU|UN)\s+)?"
    r"(?P<title>Vice President|President|Prime Minister|Secretary[- ]General|Foreign Minister|"
    r"foreign minister|Defen[cs]e Minister|Minister|Chancellor|Senator|Governor|Mayor|"
    r"Ambassador|General)\s+"
    r"(?P<name>(?:[A-Z][\w-]+\s+){0,2}[A-Z][\w-]+)"
)
HEADLINE_KINDS = {BiasKind.headline_body_mismatch, BiasKind.clickbait_headline}


def letters(count: int) -> list[str]:
    """A, B, C... for up to 26 sources."""
    if count > len(string.ascii_uppercase):
        raise ValueError("a story compares at most 26 articles")
    return list(string.ascii_uppercase[:count])


def claim_ids(reports: list[ArticleReport]) -> list[str]:
    """A1, A2, ..., B1, ...: every claim of the story, source by source."""
    return [
        f"{letter}{n}"
        for letter, report in zip(letters(len(reports)), reports, strict=True)
        for n in range(1, len(report.claims) + 1)
    ]


async def compare_story(
    reports: list[ArticleReport],
    *,
    llm: StructuredLLM,
    settings: StorySettings | None = None,
) -> StoryReport:
    """Pre-group the articles' claims, ask the model once, and derive the cross-source view."""
    settings = settings or StorySettings()
    embeddings = settings.embeddings
    marks = letters(len(reports))
    sources: list[dict[str, Any]] = [
        {
            "letter": letter,
            "title": r.article.title,
            "published": r.article.published,
            "claims": [c.claim for c in r.claims],
        }
        for letter, r in zip(marks, reports, strict=True)
    ]
    events, event_metrics = await source_events(
        reports, llm=llm, embeddings=embeddings, threshold=settings.event_similarity
    )
    ids = claim_ids(reports)
    quotes = [_quote(reports, marks, i)[1] for i in ids]
    sims = similarities(quotes, embeddings=embeddings)
    threshold = settings.similarity if embeddings else NEAR_IDENTICAL
    candidates = candidate_groups(ids, sims, threshold)
    messages = render_messages(
        "story", sources=sources, candidates=candidates, guide=schema_guide(StoryComparison)
    )
    comparison, metrics = await llm.structured(
        "story", StoryComparison, messages, {"claim_ids": set(ids)}
    )
    metrics.prompt_hash = prompt_hash("story")
    facts, dropped = merge_groups(comparison, candidates, sims, ids, floor=settings.floor)
    metrics.dropped_items += len(dropped)
    metrics.dropped_reasons += dropped
    apart = {e.letter: e for e in events if e.different}
    claims = cross_claims(facts, reports, marks, sims, ids, apart)
    return StoryReport(
        sources=[
            SourceRef(letter=m, id=r.article.id, title=r.article.title, source=r.article.source)
            for m, r in zip(marks, reports, strict=True)
        ],
        claims=claims,
        events=events,
        different_events=different_events(events),
        details=title_details(reports),
        framing=framing(reports, claims),
        compare_stage=metrics,
        event_stage=event_metrics,
    )


def title_details(reports: list[ArticleReport]) -> list[InconsistentDetail]:
    """People whom the sources give different titles ("former President" in one, "President"
    in another), read from the article texts themselves, so every version is quoted verbatim.
    A person is known by the last word of the name; English titles only."""
    marks = letters(len(reports))
    seen: dict[str, dict[str, dict[str, list[str]]]] = {}  # surname -> title -> letter -> words
    names: dict[str, str] = {}
    for letter, report in zip(marks, reports, strict=True):
        for match in TITLED_NAME.finditer(report.article.text):
            name = re.sub(r"[’']s$", "", match["name"])
            surname = name.split()[-1]
            title = ("former " if match["former"] else "") + match["title"].replace("-", " ")
            by_title = seen.setdefault(surname, {}).setdefault(title, {})
            by_title.setdefault(letter, []).append(match.group(0))
            names[surname] = max(names.get(surname, name), name, key=len)
    details = []
    for surname, titles in sorted(seen.items()):
        sources = {x for by_letter in titles.values() for x in by_letter}
        if len(titles) < 2 or len(sources) < 2:
            continue
        quotes: dict[str, list[str]] = {}
        for by_letter in titles.values():
            for letter, words in by_letter.items():
                quotes.setdefault(letter, []).extend(dict.fromkeys(words))
        details.append(
            InconsistentDetail(
                subject=names[surname],
                versions={t: sorted(by_letter) for t, by_letter in sorted(titles.items())},
                quotes={x: quotes[x] for x in sorted(quotes)},
            )
        )
    return details


def different_events(events: list[SourceEvent]) -> list[str]:
    """One sentence per source that reports another event than the rest."""
    usual = [e for e in events if not e.different]
    if not usual:
        return [f"{e.letter} reports {_event_words(e)}" for e in events] if len(events) > 1 else []
    main = max(usual, key=lambda e: e.similarity or 0.0)
    others = ", ".join(e.letter for e in usual)
    return [
        f"{e.letter} reports {_event_words(e)}; {others} report {_event_words(main)}"
        for e in events
        if e.different
    ]


def _event_words(event: SourceEvent) -> str:
    where = f" in {event.place}" if event.place else ""
    when = f", {event.when}" if event.when else ""
    return f"{event.event} ({event.who}{where}{when})"


async def source_events(
    reports: list[ArticleReport],
    *,
    llm: StructuredLLM,
    embeddings: bool,
    threshold: float,
) -> tuple[list[SourceEvent], StageMetrics]:
    """Ask, per source, which meeting or event it reports (where, when: copied from the
    article, else dropped), then mark the sources whose event is unlike the others': their
    mean similarity to the other sources' events is below the threshold."""
    answers: list[StoryEvent] = []
    spent: list[StageMetrics] = []
    for report in reports:
        # StoryEvent drops a place or date that is not in the article's words.
        answer, metrics = await call_stage(
            "story_event", StoryEvent, report.article, llm=llm, snap_threshold=100.0
        )
        answers.append(answer)
        spent.append(metrics)
    # What and where, not who: the speaker is usually the same person across a story.
    described = [a.event + (f" in {a.place}" if a.place else "") for a in answers]
    sims = similarities(described, embeddings=embeddings)
    marks = letters(len(reports))
    events = []
    for n, (letter, answer) in enumerate(zip(marks, answers, strict=True)):
        others = [float(sims[n, m]) for m in range(len(answers)) if m != n]
        mean = sum(others) / len(others) if others else 1.0
        events.append(
            SourceEvent(
                letter=letter,
                who=answer.who,
                event=answer.event,
                place=answer.place,
                when=answer.when,
                different=not reaches(mean, threshold),
                same_as=[
                    x for m, x in enumerate(marks) if m != n and reaches(sims[n, m], threshold)
                ],
                similarity=round(mean, 3),
            )
        )
    return events, merge_metrics("story_event", spent)


def _quote(reports: list[ArticleReport], marks: list[str], claim_id: str) -> tuple[str, str]:
    letter, number = claim_id[0], int(claim_id[1:])
    return letter, reports[marks.index(letter)].claims[number - 1].claim.quote


def _stances(
    reports: list[ArticleReport], marks: list[str], members: list[str]
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for letter, quote in (_quote(reports, marks, i) for i in members):
        out.setdefault(letter, []).append(quote)
    return out


def cross_claims(
    facts: list[Fact],
    reports: list[ArticleReport],
    marks: list[str],
    sims: np.ndarray,
    ids: list[str],
    apart: dict[str, SourceEvent] | None = None,
) -> list[CrossClaim]:
    """Each fact with every source's stance and own words, then the claims no other source
    shares, as single-source claims. A source that reports a different meeting or event is
    not counted as asserting a fact its claim was matched to: it is shown apart, with a note."""
    apart = apart or {}
    claim_text = {
        f"{letter}{n}": audit.claim.claim
        for letter, report in zip(marks, reports, strict=True)
        for n, audit in enumerate(report.claims, start=1)
    }
    out = []
    used: set[str] = set()
    for fact in facts:
        used.update(fact.members, fact.against)
        rows = [ids.index(i) for i in fact.members]
        inner = sims[np.ix_(rows, rows)]
        central = most_central(fact.members, sims, ids) if rows else fact.against[0]
        elsewhere = [i for i in fact.members + fact.against if i[0] in apart]
        asserted = _stances(reports, marks, [i for i in fact.members if i not in elsewhere])
        contradicted = _stances(reports, marks, [i for i in fact.against if i not in elsewhere])
        other = _stances(reports, marks, elsewhere)
        apart_note = None
        what = "; ".join(f"{x}: {_event_words(apart[x])}" for x in other)
        if other and (asserted or contradicted):
            apart_note = (
                f"Reported from a different meeting or event ({what}): "
                "not a confirmation or a contradiction of it."
            )
        elif other:  # only sources set apart share it: a plain fact if their events agree
            asserted = _stances(reports, marks, fact.members)
            contradicted = _stances(reports, marks, fact.against)
            if any(y not in apart[x].same_as for x in other for y in other if x != y):
                apart_note = (
                    f"Its sources report different meetings or events ({what}): the same "
                    "words may not describe the same occasion."
                )
            other = {}
        note = f"{fact.note} {apart_note}" if fact.note and apart_note else apart_note or fact.note
        stanced = set(asserted) | set(contradicted) | set(other)
        out.append(
            CrossClaim(
                statement=fact.statement or claim_text[central],
                asserted_by=asserted,
                contradicted_by=contradicted,
                other_event=other,
                silent=[m for m in marks if m not in stanced],
                note=note,
                matched_by=fact.matched_by,
                similarity=round(float(inner.min()), 3) if len(rows) > 1 else None,
            )
        )
    for claim_id in ids:
        if claim_id not in used:
            out.append(
                CrossClaim(
                    statement=claim_text[claim_id],
                    asserted_by=_stances(reports, marks, [claim_id]),
                    silent=[m for m in marks if m != claim_id[0]],
                )
            )
    return out


def framing(reports: list[ArticleReport], claims: list[CrossClaim]) -> list[SourceFraming]:
    """Per source: slant, headline and loaded-language findings, unsupported share, omissions."""
    marks = letters(len(reports))
    out = []
    for letter, report in zip(marks, reports, strict=True):
        kinds = [f.kind for f in report.bias.findings]
        assessed = [c for c in report.claims if c.verdict is not None]
        out.append(
            SourceFraming(
                letter=letter,
                overall_slant=report.bias.overall.value,
                headline_findings=sum(k in HEADLINE_KINDS for k in kinds),
                loaded_language=kinds.count(BiasKind.loaded_language),
                claims=len(report.claims),
                unsupported_share=round(len(report.unsupported_claims) / len(assessed), 3)
                if assessed
                else None,
                omits=[
                    c.statement for c in claims if letter in c.silent and len(c.asserted_by) >= 2
                ],
            )
        )
    return out
