"""The word lists of pipeline/data/lexicons/ and the occurrences of their entries in a text.

Each list is a TSV file (``entry, kind, category, source`` and an optional ``score``) whose
sources and licences are in ``SOURCES.tsv`` (docs/licences.md); tests/test_lexicons.py refuses
an entry without a source. An entry is a candidate, not a verdict: the tagger
(pipeline.signals.tagger) scores each occurrence in its context.

Matching is on lower-cased words, longest entry first. Verbs of the hand-written lists are
given as base forms and matched in their regular inflections (with e-drop and a doubled final
consonant) and a few irregular past forms; nouns and adjectives also match with a plural -s.
An entry written with a leading or trailing hyphen (``-gate``, ``pseudo-``) is an affix.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

KINDS = (
    "framing_verb",
    "loaded_language",
    "intensifier",
    "opinion_as_fact",
    "speculation_as_fact",
)
NEUTRAL = "neutral_report"  # neutral reporting verbs: listed, never a candidate
VERB_KINDS = frozenset({"framing_verb", NEUTRAL})
GENERATED = frozenset({"vader", "pattern"})  # lists written out with their inflections
WORD = re.compile(r"[a-z0-9][a-z0-9'’-]*[a-z0-9]|[a-z0-9]")
IRREGULAR = {  # past forms of the listed verbs that the -ed rule cannot make
    "say": ("said",),
    "tell": ("told",),
    "know": ("knew", "known"),
    "find": ("found",),
    "think": ("thought",),
    "swear": ("swore", "sworn"),
    "forget": ("forgot", "forgotten"),
    "write": ("wrote", "written"),
    "hold": ("held",),
    "understand": ("understood",),
    "see": ("saw", "seen"),
    "foresee": ("foresaw", "foreseen"),
    "lead": ("led",),
    "mean": ("meant",),
    "win": ("won",),
    "break": ("broke", "broken"),
    "take": ("took", "taken"),
    "make": ("made",),
    "give": ("gave", "given"),
    "get": ("got", "gotten"),
}
DOUBLED = re.compile(r"[^aeiou][aeiou][bdgklmnprt]$")  # slam -> slammed, admit -> admitted


@dataclass(frozen=True)
class Entry:
    """One line of a word list."""

    words: tuple[str, ...]
    kind: str
    category: str
    source: str
    score: float


@dataclass(frozen=True)
class Match:
    """The entries found at ``text[start:end]`` (one or more lists may hold the words)."""

    start: int
    end: int
    entries: tuple[Entry, ...]


def verb_forms(verb: str) -> set[str]:
    """A base verb and its -s, -ed and -ing forms (regular rules and the irregular table)."""
    forms = {verb, *IRREGULAR.get(verb, ())}
    if verb.endswith("e"):
        stem = verb[:-1]
        forms |= {verb + "s", verb + "d", stem + "ing"}
    elif verb.endswith("y") and len(verb) > 2 and verb[-2] not in "aeiou":
        forms |= {verb[:-1] + "ies", verb[:-1] + "ied", verb + "ing"}
    else:
        sibilant = verb.endswith(("s", "sh", "ch", "x", "z"))
        forms.add(verb + ("es" if sibilant else "s"))
        double = verb + verb[-1] if DOUBLED.search(verb) and len(verb) <= 6 else verb
        forms |= {double + "ed", double + "ing", verb + "ed", verb + "ing"}
    return forms


def forms_of(entry: Entry) -> set[tuple[str, ...]]:
    """The word sequences an entry matches: the last word of a verb phrase inflected, the
    first word of a verb phrase ("lash out at"), a noun or adjective with a plural -s."""
    words = entry.words
    if entry.source in GENERATED:
        return {words}
    if entry.kind in VERB_KINDS:
        return {(form, *words[1:]) for form in verb_forms(words[0])}
    if len(words) == 1 and not words[0].endswith(("s", "ly", "-")) and words[0][0] != "-":
        return {words, (words[0] + "s",)}
    return {words}


def _rows(name: str) -> Iterator[dict[str, str]]:
    text = files("pipeline").joinpath(f"data/lexicons/{name}").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    yield from csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)


def list_files() -> list[str]:
    """The word lists shipped (every TSV but the source table and the neutral-verb map)."""
    folder = files("pipeline").joinpath("data/lexicons")
    skip = {"SOURCES.tsv", "neutral_verbs.tsv"}
    return sorted(
        p.name for p in folder.iterdir() if p.name.endswith(".tsv") and p.name not in skip
    )


class Lexicon:
    """Every shipped entry, indexed by its first word for matching."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.index: dict[str, list[tuple[tuple[str, ...], Entry]]] = defaultdict(list)
        self.prefixes: list[tuple[str, Entry]] = []
        self.suffixes: list[tuple[str, Entry]] = []
        for entry in entries:
            if entry.kind == NEUTRAL:
                continue
            first = entry.words[0]
            if len(entry.words) == 1 and first.startswith("-"):
                self.suffixes.append((first[1:], entry))
            elif len(entry.words) == 1 and first.endswith("-"):
                self.prefixes.append((first[:-1], entry))
            else:
                for form in forms_of(entry):
                    self.index[form[0]].append((form, entry))
        for options in self.index.values():
            options.sort(key=lambda pair: -len(pair[0]))

    def _at(self, words: list[str], n: int) -> tuple[int, list[Entry]]:
        """The longest entries starting at word ``n``: (number of words, entries)."""
        best, found = 0, list[Entry]()
        for form, entry in self.index.get(words[n], ()):
            size = len(form)
            if size >= best and tuple(words[n : n + size]) == form:
                if size > best:
                    best, found = size, []
                found.append(entry)
        if not found:
            token = words[n]
            found = [e for affix, e in self.suffixes if token.endswith("-" + affix)]
            found += [e for affix, e in self.prefixes if token.startswith(affix + "-")]
            best = 1 if found else 0
        if not found and "-" in words[n]:  # a hyphenated compound: its parts
            parts = [p for p in words[n].split("-") if p]
            found = [e for p in parts for _, e in self.index.get(p, ()) if e.words == (p,)]
            best = 1 if found else 0
        return best, found

    def matches(self, text: str) -> list[Match]:
        """Every occurrence of an entry in ``text``, longest first, not overlapping."""
        lowered = text.lower().replace("’", "'")
        tokens = [(m.start(), m.end(), m.group()) for m in WORD.finditer(lowered)]
        words = [t[2] for t in tokens]
        out, n = [], 0
        while n < len(tokens):
            size, found = self._at(words, n)
            if found:
                out.append(Match(tokens[n][0], tokens[n + size - 1][1], tuple(found)))
                n += size
            else:
                n += 1
        return out


def _entry(row: dict[str, str]) -> Entry:
    return Entry(
        words=tuple(row["entry"].replace("’", "'").split()),
        kind=row["kind"],
        category=row["category"],
        source=row["source"],
        score=float(row.get("score") or 1.0),
    )


def _replaceable(row: dict[str, str]) -> Entry:
    """A reporting verb or noun of neutral_verbs.tsv: a framing verb (it has a neutral one)."""
    return Entry(
        words=tuple(row["entry"].split()),
        kind="framing_verb",
        category="has_neutral_replacement",
        source=row["source"],
        score=1.0,
    )


@cache
def lexicon() -> Lexicon:
    """Every shipped word list, loaded once per process; the reporting verbs that
    neutral_verbs.tsv maps to a neutral one are framing verbs too."""
    entries = [_entry(row) for name in list_files() for row in _rows(name)]
    return Lexicon(entries + [_replaceable(row) for row in _rows("neutral_verbs.tsv")])
