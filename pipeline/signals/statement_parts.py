"""Which part of a statement the article does not back: the explanation of a failed check.

A statement is split into its parts (clauses, at commas, semicolons and clause words such as
"after", "while", "which"). Each part's specifics (numbers, dates, names) and content words
are looked up in the **whole article**, with the aliases and number formats the alignment
checks know ("2.5 million" = "2,500,000", "20%" = "20 per cent", "U.S." = "United States").
A specific the article never gives is named ("'2019' is not in the article"); the weakest
part, the one with the largest share of content words the article never uses, is named with
what the evidence sentence that shares most of its words says instead ("'resigned' is not
supported: s4 says 'was dismissed'"). Pure Python, no model call: it explains a verdict, it
does not make one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from pipeline.signals.alignment import aliased, alignment_signals
from pipeline.text.lexical import TOKEN_RE, content_words, fold, stem_word, tokenize, word_key

# a part ends at a comma, semicolon, colon or dash, or before a word that opens a clause
_BREAK = re.compile(
    r"\s*[,;:]\s+|\s+[-\u2013\u2014]\s+|\s+(?=(?:and|but|while|after|before|because|although|"
    r"though|whereas|which|who|whom|whose|when|where|since|despite|amid|following)\b)",
    re.IGNORECASE,
)
MIN_CONTENT = 2  # a part with fewer content words is read with its neighbour
MAX_QUOTE_WORDS = 12  # what an evidence sentence "says instead" is quoted up to this length
MAX_INSTEAD_WORDS = 2  # with more unbacked words than this, one aligned difference misleads


@dataclass(frozen=True)
class PartCheck:
    """One part of a statement against the whole article and its evidence sentences."""

    text: str
    missing: tuple[str, ...]  # numbers, dates and names the article never gives
    novel_words: tuple[str, ...]  # content words the article never uses
    novel_share: float
    closest: int | None  # the evidence sentence sharing most of its content words
    instead: str  # what that sentence says where the part differs ("" when nothing)


def parts(statement: str) -> list[str]:
    """The statement's parts, in order; a part too short to check joins the one before."""
    out: list[str] = []
    for piece in (p.strip(" ,;:.") for p in _BREAK.split(fold(statement))):
        if not piece:
            continue
        if out and min(_content_count(piece), _content_count(out[-1])) < MIN_CONTENT:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out or [statement.strip()]


def _content_count(text: str) -> int:
    return len(content_words(tokenize(text)))


def check_parts(
    statement: str, document: str, evidence: Sequence[tuple[int, str]]
) -> list[PartCheck]:
    """Every part of ``statement`` looked up in ``document`` (the whole article) and matched
    to the closest of the ``evidence`` sentences (id, text)."""
    out = []
    for part in parts(statement):
        found = alignment_signals(part, document)
        missing = (*found.numbers_missing, *found.dates_missing, *found.names_missing)
        content = content_words(tokenize(part))
        novel = tuple(w for w in found.novel_words if not aliased(w, document))
        closest, instead = _closest(part, content, novel, evidence)
        out.append(
            PartCheck(
                text=part,
                missing=tuple(dict.fromkeys(missing)),
                novel_words=novel,
                novel_share=len(novel) / len(content) if content else 0.0,
                closest=closest,
                instead=instead,
            )
        )
    return out


def weakest(checks: Sequence[PartCheck]) -> PartCheck | None:
    """The part the article backs least: most missing specifics, then most novel words."""
    failing = [c for c in checks if c.missing or c.novel_words]
    return max(failing, key=lambda c: (len(c.missing), c.novel_share), default=None)


def explain_parts(statement: str, document: str, evidence: Sequence[tuple[int, str]]) -> list[str]:
    """Plain sentences for a report: each specific the article never gives, then the weakest
    part's unbacked words and what the closest evidence sentence says instead."""
    checks = check_parts(statement, document, evidence)
    missing = dict.fromkeys(x for c in checks for x in c.missing)
    out = [f"'{x}' is not in the article" for x in missing]
    part = weakest(checks)
    named = {w.lower() for x in missing for w in x.split()}
    words = [w for w in part.novel_words if w.lower() not in named] if part else []
    if part is not None and words:
        quoted = [f"'{w}'" for w in words]
        said = " and ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
        verb = "are" if len(words) > 1 else "is"
        if part.closest is not None and part.instead and len(words) <= MAX_INSTEAD_WORDS:
            out.append(f"{said} {verb} not supported: s{part.closest} says '{part.instead}'")
        else:
            out.append(f"{said} {verb} not supported: the article never says it")
    return out


def _closest(
    part: str, content: dict[str, str], novel: Sequence[str], evidence: Sequence[tuple[int, str]]
) -> tuple[int | None, str]:
    """The evidence sentence sharing most of the part's content words, and what it says where
    the part has its novel words: the sentence's side of the aligned difference (difflib
    over the two word sequences), "" when the two do not line up there."""
    best, best_shared = None, 0
    for sentence_id, text in evidence:
        shared = len(set(content) & set(content_words(tokenize(fold(text)))))
        if shared > best_shared:
            best, best_shared = (sentence_id, text), shared
    if best is None:
        return None, ""
    return best[0], _instead(part, best[1], {stem_word(word_key(w)) for w in novel})


def _words(text: str) -> list[tuple[str, str]]:
    return [(m.group(), stem_word(word_key(m.group()))) for m in TOKEN_RE.finditer(fold(text))]


def _instead(part: str, sentence: str, novel: set[str]) -> str:
    mine, theirs = _words(part), _words(sentence)
    matcher = SequenceMatcher(a=[s for _, s in mine], b=[s for _, s in theirs], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace" and novel & {s for _, s in mine[i1:i2]} and j2 - j1 <= MAX_QUOTE_WORDS:
            return " ".join(w for w, _ in theirs[j1:j2])
    return ""
