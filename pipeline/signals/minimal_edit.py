"""Minimal neutral edits of a flagged sentence, made in code from its tagged framing spans.

The fallback when the model's rewording fails its checks (pipeline.signals.rewording): drop
intensifiers and boosters, drop a loaded modifier where the sentence stays grammatical, swap a
framing reporting verb for a neutral one (pipeline/data/lexicons/neutral_verbs.tsv), unquote
scare quotes. A span that cannot be edited safely (a predicate adjective, a head noun, "claimed
to", a name or a number, an offset inside a word) is left as it is; no edit at all gives None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib.resources import files

from pipeline.signals.framing import Framing

Tok = tuple[str, int, int]  # text, start, end
Edit = tuple[int, int, str]  # text[start:end] becomes the string

TOKEN = re.compile(r"\w+(?:[’'-]\w+)*|[^\w\s]")
NUMBER = re.compile(r"\d[\d,.]*\d|\d")
QUOTES = "\"“”‘’'"
ENDS = ".!?;:"
OPENERS = "\"“‘'( "


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split("|" if "|" in words else None))


FUNCTION = _set(
    "and or but nor of to in on at for with by from than as that is are was were be been being am "
    "has have had will would shall should can could may might must do does did not if so because "
    "while when where which who whom whose what into onto about after before over under against "
    "among between through during without within since until via per the a an this these those "
    "it its he she they we i you him her them us his their our my your there then much"
)
DETERMINERS = _set(
    "the a an this that these those its his her their our my your some any no every each "
    "another such many several few more most all both other"
)
NUMBER_WORDS = _set(
    "one two three four five six seven eight nine ten dozen hundred thousand million"
)
ADJECTIVES = _set(
    "new old big small large top key high low long short recent former latest false bold stark"
)
ADJ_SUFFIXES = ("al", "ous", "ive", "ful", "less", "ic", "able", "ible", "ish", "ary", "ian")
BOOSTERS = _set(
    "clearly|obviously|evidently|undoubtedly|certainly|surely|indeed|of course|in fact|no doubt|"
    "without doubt|without a doubt|inevitably|undeniably|unquestionably"
)
CLAUSE_BOOSTER = re.compile(
    r"it(?: is|'s|’s| was) (?:clear|evident|obvious|undeniable|certain)(?: that)?|"
    r"the (?:truth|reality|fact) (?:is|was|has always been)(?: that)?|"
    r"there (?:is|was|can be) no (?:doubt|question)(?: that)?|no one can deny(?: that)?"
)
DEGREE = _set("very so too more most less least quite really rather")
# Prepositions FUNCTION does not hold (Quirk et al. 1985, §9.7-9.10, simple and complex
# prepositions): a word before one heads its noun phrase, it does not modify the next word.
PREPOSITIONS = _set(
    "like unlike toward towards across along alongside around behind beyond beside besides "
    "near past upon amid amidst despite throughout beneath underneath above below inside "
    "outside versus except including regarding concerning"
)
PRONOUNS = _set("he she they we i it you there")
SAY_NEXT = PRONOUNS | {"that", "in"}  # "admitted that", "admitted he", "admitted in court"
OBJECTS = DETERMINERS | {"him", "her", "them", "it", "us", "me", "you"}
PARTICLES = _set("off down shut up out away open back")
PAST_LIKE = _set("hit went came made took put left set cut led saw got began became")
IRREGULAR_PAST = {"say": "said"}
DOUBLED = re.compile(r"[^aeiou][aeiou][bdgklmnprt]$")  # slam -> slammed, admit -> admitted
MODIFIERS = {Framing.loaded_language, Framing.intensifier, Framing.opinion_as_fact}


@cache
def _listed_adjectives() -> frozenset[str]:
    """The adjectives of Pattern's subjectivity lexicon (pipeline/data/lexicons/pattern.tsv)."""
    text = files("pipeline").joinpath("data/lexicons/pattern.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return frozenset(row[0] for row in rows[1:])


def _adjectival(low: str) -> bool:
    """Whether a lower-cased word looks like an adjective (a short list, Pattern's
    adjectives, its suffix)."""
    return (
        "-" in low or low in ADJECTIVES or low in _listed_adjectives() or low.endswith(ADJ_SUFFIXES)
    )


def _inflect(word: str, form: str) -> str:
    """``word`` (a base form) with the ending ``form``: "", "s", "ed" or "ing"."""
    if form == "s":
        if word.endswith(("s", "sh", "ch", "x", "z")):
            return word + "es"
        return word[:-1] + "ies" if re.search(r"[^aeiou]y$", word) else word + "s"
    if form == "ed" and word in IRREGULAR_PAST:
        return IRREGULAR_PAST[word]
    if form in ("ed", "ing"):
        if word.endswith("e") and not word.endswith("ee"):
            return word[:-1] + form
        if form == "ed" and re.search(r"[^aeiou]y$", word):
            return word[:-1] + "ied"
        return word + (word[-1] if DOUBLED.search(word) else "") + form
    return word


@cache
def _forms() -> dict[str, tuple[str, str]]:
    """Each inflected entry of neutral_verbs.tsv -> (its neutral base word, the ending)."""
    path = files("pipeline").joinpath("data/lexicons/neutral_verbs.tsv")
    lines = [x for x in path.read_text(encoding="utf-8").splitlines() if x and x[0] != "#"]
    out: dict[str, tuple[str, str]] = {}
    for line in lines[1:]:  # lines[0] is the header
        entry, neutral = line.split("\t")[:2]
        head, _, rest = entry.partition(" ")
        for form in ("", "s", "ed", "ing"):
            out.setdefault(" ".join(filter(None, (_inflect(head, form), rest))), (neutral, form))
    return out


def neutral_verb(word: str) -> str | None:
    """The neutral word for a framing reporting verb or noun, in its form, or None."""
    hit = _forms().get(" ".join(word.lower().split()))
    if hit is None:
        return None
    head, _, rest = hit[0].partition(" ")
    return " ".join(filter(None, (_inflect(head, hit[1]), rest)))


def _fix_article(text: str, at: int) -> str:
    """Make an "a"/"an" that ends right before ``at`` agree with the word that now follows."""
    art = re.search(r"(?<![\w’'-])(an?|An?)\s+$", text[:at])
    word = re.match(r"\s*([a-z][\w’'-]*)", text[at:], re.IGNORECASE)
    if not art or not word or word.group(1).isupper():
        return text  # an acronym's reading ("a NATO", "an FBI") is not known from its spelling
    if art.group(1)[0] == "A" and re.search(r"\w", text[: art.start()]):
        return text  # a capital "A" mid-sentence is a name ("Plan A")
    low = word.group(1).lower()  # a vowel sound, by spelling: "an hour", "a union", "a one-off"
    an = low.startswith(("hour", "honest", "honor", "honour", "heir")) or (
        low[0] in "aeiou" and not low.startswith(("uni", "use", "usu", "uti", "eu", "one", "once"))
    )
    new = ("an" if an else "a").capitalize() if art.group(1)[0] == "A" else "an" if an else "a"
    return text[: art.start(1)] + new + text[art.end(1) :]


def _tidy(text: str) -> str:
    """Single spaces, no space before , . ; : ! ?, no comma left doubled or dangling."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r",(?:\s*,)+", ",", text)
    text = re.sub(r",\s*([.;:!?])", r"\1", text)
    text = re.sub(r"^([\"“‘'(]?)\s*[,;:]\s*", r"\1", text)
    return re.sub(r"^([\"“‘(])\s+", r"\1", text)


class _Sentence:
    """A sentence's tokens and the context questions the edit rules ask of them."""

    def __init__(self, text: str, spans: Sequence[tuple[int, int, str]]) -> None:
        self.text = text
        self.toks = [(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]
        self.first = next((t[1] for t in self.toks if t[0][0].isalnum()), 0)
        self.tagged = {
            t[1] for s, e, k in spans if k in MODIFIERS for t in self.toks if s <= t[1] < e
        }

    def before(self, pos: int) -> Tok | None:
        return next((t for t in reversed(self.toks) if t[2] <= pos), None)

    def after(self, pos: int) -> Tok | None:
        return next((t for t in self.toks if t[1] >= pos), None)

    def adjectival(self, tok: Tok) -> bool:
        return tok[1] in self.tagged or _adjectival(tok[0].lower())

    def np_left(self, tok: Tok | None, start: int) -> bool:
        """Whether a modifier at ``start``, after ``tok``, is inside a noun phrase."""
        if start == self.first or tok is None or tok[0] == ",":
            return True
        low = tok[0].lower()
        if low in DETERMINERS or low in NUMBER_WORDS or low[0].isdigit() or self.adjectival(tok):
            return True
        if low.endswith(("'s", "’s")):
            return True  # a possessive
        prev = self.before(tok[1])
        return tok[0] in "'’" and prev is not None and prev[0].endswith("s")

    def degree(self, tok: Tok | None) -> bool:
        """Whether ``tok`` is an untagged degree adverb ("very", "hugely")."""
        low = tok[0].lower() if tok is not None and tok[1] not in self.tagged else ""
        return low in DEGREE or low.endswith("ly")

    def list_comma(self, comma: Tok) -> bool:
        """Whether ``comma`` separates two modifiers ("the reckless, costly bill")."""
        word = self.before(comma[1])
        if word is None or not _word(word) or not self.adjectival(word):
            return False
        return self.np_left(self.before(word[1]), word[1])


COPULAS = _set("is are was were be been being am seems seem seemed remains remain remained")


def _word(tok: Tok | None) -> bool:
    return tok is not None and tok[0][0].isalnum()


def _continues(tok: Tok | None) -> bool:
    """A word that can carry on a noun phrase or a verb group (no function word)."""
    return _word(tok) and tok is not None and tok[0].lower() not in FUNCTION


def _drop_modifier(sen: _Sentence, s: int, e: int, adjective: bool) -> list[Edit] | None:
    """Drop a loaded modifier where the sentence stays grammatical."""
    word, prv, nxt = sen.text[s:e], sen.before(s), sen.after(e)
    if sen.degree(prv):
        return None  # "a hugely costly plan": "hugely" would be left modifying nothing
    if " " not in word and word.lower().endswith("ly"):
        return [(s, e, "")] if _continues(nxt) else None  # "shamelessly ran"
    # After a verb or a preposition a modifier opens a noun phrase: "carries grave risks".
    opens = _word(prv) and prv is not None and prv[0].lower() not in COPULAS
    if not (sen.np_left(prv, s) or opens) or nxt is None:
        return None
    if nxt[0].lower() in ("and", "or", ","):  # "reckless and costly plan", "reckless, costly plan"
        other = sen.after(nxt[2])
        head = sen.after(other[2]) if other else None
        ok = adjective and _continues(other) and _continues(head)
        return [(s, nxt[2], "")] if ok else None
    verb_like = re.search(r"(?:ed|ly|[^su]s)$", nxt[0].lower()) or nxt[0].lower() in PAST_LIKE
    # a predicate adjective, a head noun ("the fiasco continued", "a circus unlike")
    if not _continues(nxt) or nxt[0].lower() in PREPOSITIONS or (not adjective and verb_like):
        return None
    if prv is not None and prv[0] == "," and sen.list_comma(prv):
        return [(prv[1], e, "")]  # the last of a list of modifiers: its comma goes with it
    return [(s, e, "")]


def _drop_booster(sen: _Sentence, s: int, e: int) -> list[Edit] | None:
    """Drop a booster, with its commas when it is a parenthetical."""
    prv, nxt = sen.before(s), sen.after(e)
    low = " ".join(sen.text[s:e].lower().split())
    if CLAUSE_BOOSTER.fullmatch(low):  # "it is clear that", "the truth is"
        if nxt is not None and (nxt[0] == "," or (nxt[0].lower() == "that" != low[-4:])):
            e, nxt = nxt[2], sen.after(nxt[2])  # "the truth is that", "the truth is,"
        starts_clause = nxt is not None and nxt[0].lower() in DETERMINERS | PRONOUNS
        return [(s, e, "")] if _continues(nxt) or starts_clause else None
    if low not in BOOSTERS and not (" " not in low and low.endswith("ly")):
        return _drop_modifier(sen, s, e, adjective=True) if " " not in low else None
    if sen.degree(prv):
        return None
    if prv is not None and prv[0] == "," and nxt is not None and nxt[0] == ",":
        return [(prv[1], nxt[2], "")]  # "The plan, clearly, failed."
    if nxt is not None and nxt[0] == ",":
        return [(s, nxt[2], "")]  # "Clearly, the plan failed."
    if prv is not None and prv[0] == ",":
        ends = nxt is None or nxt[0] in ENDS or nxt[0] in QUOTES
        return [(prv[1], e, "")] if ends else [(s, e, "")]  # "The plan failed, clearly."
    return [(s, e, "")] if nxt is None or _word(nxt) or nxt[0] in ENDS else None


def _swap_verb(sen: _Sentence, s: int, e: int) -> list[Edit] | None:
    """Swap a framing reporting verb or noun for the neutral one in the same form."""
    words = [t for t in sen.toks if s <= t[1] < e and _word(t)]
    nxt = sen.after(e)
    options = [[*words, nxt]] if nxt is not None and _word(nxt) else []  # "lashed out" + "at"
    options += [words, words[:-1]] if words and words[-1][0].lower() == "that" else [words]
    for option in filter(None, options):
        hit = _forms().get(" ".join(t[0].lower() for t in option))
        if hit is None:
            continue
        base, form = hit
        prv, after = sen.before(s), sen.after(option[-1][2])
        if base in ("say", "criticize") and prv is not None and s != sen.first:
            low = prv[0].lower()
            noun = low in DETERMINERS if form == "ed" else prv[0] != "," and sen.np_left(prv, s)
            if noun:
                return None  # a noun or participle after a determiner ("his claims that")
        low = after[0].lower() if after is not None else ""
        if base == "say" and after is not None and _word(after) and low not in SAY_NEXT:
            return None  # "admitted the mistake", "claimed to have", "confessed to"
        if base == "criticize" and (low in PARTICLES or not (low in OBJECTS or _continues(after))):
            return None  # "slammed into", "slammed shut", "lashed out."
        neutral = neutral_verb(" ".join(t[0] for t in option)) or base
        if sen.text[s].isupper():
            neutral = neutral[0].upper() + neutral[1:]
        return [(s, option[-1][2], neutral)]
    return None


def _unquote(text: str, s: int, e: int) -> list[Edit] | None:
    """Remove a scare quote's marks, keeping its words."""
    if e - s >= 2 and text[s] in QUOTES and text[e - 1] in QUOTES:
        return [(s, s + 1, ""), (e - 1, e, "")]
    if s > 0 and e < len(text) and text[s - 1] in QUOTES and text[e] in QUOTES:
        return [(s - 1, s, ""), (e, e + 1, "")]
    return None


def _span_edits(sen: _Sentence, s: int, e: int, kind: str) -> list[Edit] | None:
    """The edits that neutralise one span, or None when it cannot be edited safely."""
    starts, ends = {t[1] for t in sen.toks}, {t[2] for t in sen.toks}
    if s >= e or s not in starts or e not in ends or kind not in set(Framing):
        return None  # empty, not on word boundaries (or outside the sentence), an unknown kind
    if kind == Framing.scare_quotes:
        return _unquote(sen.text, s, e)  # keeps every word, names included
    inside = [t[0] for t in sen.toks if s <= t[1] < e and _word(t)]
    if re.search(r"\d", sen.text[s:e]) or any(w[0].isupper() for w in inside[s == sen.first :]):
        return None  # names and numbers are never touched
    words = [w.lower() for w in inside]
    if kind != Framing.framing_verb and all(w in FUNCTION for w in words):
        return None  # a span of function words only ("the", "in") is no framing word
    last = words[-1] if words else ""
    if kind == Framing.intensifier and (last in ("very", "really", "truly") or last[-2:] == "ly"):
        return [(s, e, "")] if _continues(sen.after(e)) else None  # "a very large crowd"
    if kind == Framing.intensifier:  # "a massive crowd"
        return _drop_modifier(sen, s, e, adjective=True)
    if kind == Framing.loaded_language:
        adjective = _adjectival(last) or last.endswith(("ing", "ed", "ant", "ent"))
        return _drop_modifier(sen, s, e, adjective)
    if kind == Framing.opinion_as_fact:
        return _drop_booster(sen, s, e)
    if kind == Framing.framing_verb:
        return _swap_verb(sen, s, e)
    return None  # speculation_as_fact: no safe minimal edit


def minimal_edit(text: str, spans: Sequence[tuple[int, int, str]]) -> str | None:
    """The sentence with its framing spans neutralised in place, or None when none can be."""
    sen = _Sentence(text, spans)
    accepted: list[Edit] = []
    for s, e, kind in sorted(spans, key=lambda x: (x[0], x[1])):
        group = _span_edits(sen, s, e, str(kind))
        clash = group and any(
            a[0] < b[1] and b[0] < a[1] and (a[2] or b[2]) for a in group for b in accepted
        )  # overlapping deletions merge below; a replacement overlapping anything is dropped
        if group and not clash:
            accepted += group
    merged: list[Edit] = []
    for edit in sorted(accepted):
        if merged and edit[0] <= merged[-1][1] and not edit[2] and not merged[-1][2]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], edit[1]), "")
        else:
            merged.append(edit)
    if not merged:
        return None
    out = text
    for s, e, new in reversed(merged):  # right to left: the offsets to the left stay valid
        out = _fix_article(out[:s] + new + out[e:], s)
    out = _tidy(out)
    at = len(out) - len(out.lstrip(OPENERS))  # the first letter, after any opening quote
    if text.lstrip(OPENERS)[:1].isupper() and out[at : at + 1].isalpha():
        out = out[:at] + out[at].upper() + out[at + 1 :]
    end = text.rstrip()[-1:]
    if out == _tidy(text) or (end in ".!?" and not out.endswith(end)):
        return None
    names = [t[0] for t in sen.toks if t[0][0].isupper() and t[1] != sen.first]
    kept = {m.group() for m in TOKEN.finditer(out)}
    if any(n not in out for n in NUMBER.findall(text)) or any(n not in kept for n in names):
        return None  # a safety net: the span rules never drop a name or a number
    return out
