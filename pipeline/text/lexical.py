"""Lexical layer of the alignment checks: sentences, tokens, stems, numbers and dates.

Regex-only helpers for `pipeline.signals.alignment`; text is folded first (diacritics, quote marks,
clitics that tokenisers split off), so the statement and its evidence are read the same way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


def word_set(words: str) -> frozenset[str]:
    """The whitespace-separated words of a string, as a set."""
    return frozenset(words.split())


STOPWORDS = word_set(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either else
    ever few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most much my myself of off on once only or other
    our ours out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up upon very was we
    were what when where which while who whom whose why will with would you your yours yourself
    yourselves said says say told tells according may might must shall one ones also s mr mrs ms
    not no never none nobody nothing neither nor without cannot nowhere yet still however
    meanwhile despite although though now today yesterday tomorrow"""
)
_NUMBER_WORDS = re.findall(
    r"[a-z]+",
    """zero one two three four five six seven eight nine ten eleven twelve thirteen
    fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy
    eighty ninety third fourth fifth sixth seventh eighth ninth tenth""",
)
_SMALL = {w: i for i, w in enumerate(_NUMBER_WORDS[:20])}
_TENS = {w: 10 * i for i, w in enumerate(_NUMBER_WORDS[20:28], 2)}
_ORDINALS = {w: i for i, w in enumerate(_NUMBER_WORDS[28:], 3)}
_MULT = {"hundred": 1e2, "thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9}
_MULT |= {"bn": 1e9, "trillion": 1e12, "tn": 1e12}
_MONTHS = "january february march april may june july august september october november december"
_WEEKDAYS = [f"{d}day" for d in ("mon", "tues", "wednes", "thurs", "fri", "satur", "sun")]
NON_CONTENT = STOPWORDS | set(_NUMBER_WORDS) | set(_MULT) | word_set(_MONTHS) | set(_WEEKDAYS)
NON_CONTENT |= {"sept", "per", "cent", "percent"}
_NW = "|".join(sorted((*_SMALL, *_TENS), key=len, reverse=True))
_NUM_RE = re.compile(
    r"(?<![\w.,])(?:(?P<cur>[$£€])\s?)?"
    rf"(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|(?:{_NW})(?:[\s-]+(?:and\s+)?(?:{_NW}|hundred))*)"
    r"(?P<ord>st|nd|rd|th|\s?[ap]\.?m\b\.?)?"
    r"(?:\s?(?P<mult>%|(?:per\s?cent|percent|hundred|thousand|million|billion|trillion|bn|m|k|tn)\b))?"
    r"(?!\w)",
    re.IGNORECASE,
)
_ORD_RE = re.compile(rf"\b(?:{'|'.join(_ORDINALS)})\b", re.IGNORECASE)
_MONTH_ALT = _MONTHS.replace(" ", "|") + "|sept"
_DATE_RES = (
    re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_ALT})\b", re.I),
    re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?![,.]?\d)", re.I),
    re.compile(r"(?<![$£€\d,.])\b(1[89]\d\d|20\d\d)(s?)\b(?![,.]\d)"),
    re.compile(rf"\b({_MONTH_ALT})\b", re.I),
    re.compile(rf"\b(?:{'|'.join(_WEEKDAYS)})\b", re.I),
)
# "may" and "march" are months only in a date context ("in May", "May 5"), else verb or noun.
_MONTH_CONTEXT = re.compile(
    r"\b(?:in|on|since|until|till|by|from|early|late|mid|last|next|during|of|between|end)\s+$",
    re.IGNORECASE,
)
TOKEN_RE = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Za-z]+(?:'[A-Za-z]+)*'?|\d+(?:[.,:]\d+)*")
_SPLIT_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\n+\s*")
_ABBREV_RE = re.compile(
    r"(?:\b[A-Za-z]|\b(?:mr|mrs|ms|dr|st|jr|sr|gen|gov|sen|rep|prof|no|vs))\.$", re.I
)
_FOLD = str.maketrans(
    {"‘": "'", "’": "'", "`": "'", "´": "'", "“": '"', "”": '"', "–": "-", "—": "-"}
)
_CLITIC_RE = re.compile(r"\s+(n't|'s|'re|'ll|'ve|'d|'m)\b")
_SPLIT_THOUSANDS_RE = re.compile(r"\b(\d{1,3}), (\d{3})\b")  # "50, 000" from tokenised text
_GAP_RE = re.compile(r"[,;:()\"\[\]]")


@dataclass(frozen=True, slots=True)
class Token:
    """A word or number of a sentence."""

    text: str  # surface form
    key: str  # lowercase, dots and possessive removed ("U.S." -> "us", "Obama's" -> "obama")
    stem: str
    initial: bool  # first word of its sentence
    gap: bool  # punctuation (comma, colon, bracket, quote) right before it


def fold(text: str) -> str:
    """Strip diacritics, unify quotes and dashes, rejoin clitics split off by tokenisers."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPLIT_THOUSANDS_RE.sub(r"\1,\2", _CLITIC_RE.sub(r"\1", plain))


def split_sentences(text: str) -> list[str]:
    """Sentences at ., ! or ? before a space and at newlines, not after "Mr." or "U.S."."""
    out: list[str] = []
    for piece in _SPLIT_RE.split(text):
        if not piece.strip():
            continue
        if out and _ABBREV_RE.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def word_key(token: str) -> str:
    """Lowercase, without dots or possessive ("U.S." -> "us", "Obama's" -> "obama")."""
    key = token.lower().replace(".", "")
    return (key[:-2] if key.endswith("'s") else key).rstrip("'")


def stem_word(word: str) -> str:
    """A tiny Porter-like stemmer: enough to match plurals and -ed/-ing forms both ways."""
    if word.endswith(("sses", "ies")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    if len(word) > 3 and word[-1] in "ey":
        word = word[:-1] + ("i" if word[-1] == "y" else "")
    return word


def tokenize(sentence: str) -> tuple[Token, ...]:
    """The words and numbers of one sentence."""
    out, end = [], 0
    for i, m in enumerate(TOKEN_RE.finditer(sentence)):
        key, gap = word_key(m.group()), bool(_GAP_RE.search(sentence, end, m.start()))
        out.append(Token(m.group(), key, stem_word(key), i == 0, gap))
        end = m.end()
    return tuple(out)


def content_words(tokens: tuple[Token, ...]) -> dict[str, str]:
    """Content words of a sentence: stem -> first surface form."""
    out: dict[str, str] = {}
    for t in tokens:
        if len(t.key) > 1 and t.key.isalpha() and t.key not in NON_CONTENT:
            out.setdefault(t.stem, t.text)
    return out


# --- numbers and dates ------------------------------------------------------------------------


def _words_value(phrase: str) -> float:
    value = 0
    for word in re.findall(r"[a-z]+", phrase.lower()):
        if word == "hundred":
            value = max(value, 1) * 100
        else:
            value += _SMALL.get(word, _TENS.get(word, 0))
    return float(value)


def find_numbers(text: str) -> list[tuple[str, float]]:
    """(surface, value) of each number: digits, number words, ordinals, money, percentages."""
    out: list[tuple[str, float]] = []
    for m in _NUM_RE.finditer(text):
        raw, mult = m["num"].lower().replace(",", ""), (m["mult"] or "").lower()
        if raw == "one" and not mult:
            continue  # "one of", "no one": rarely a quantity
        base = float(raw) if raw[0].isdigit() else _words_value(raw)
        factor = _MULT.get(mult.replace(" ", ""), 1.0)  # %, per cent: same value
        out.append((m.group().strip(), round(base * factor, 6)))
    out += [(m.group(), float(_ORDINALS[m.group().lower()])) for m in _ORD_RE.finditer(text)]
    return out


def _month(word: str) -> str:
    word = word.lower()
    return "september" if word == "sept" else word


def _date_canon(kind: int, m: re.Match[str], text: str) -> str | None:
    if kind in (0, 1):
        month, day = (m[2], m[1]) if kind == 0 else (m[1], m[2])
        return f"{_month(month)} {int(day)}" if 1 <= int(day) <= 31 else None
    if kind == 2:
        return m[1] + m[2]
    if kind == 3:
        word = m[1].lower()
        if word in ("may", "march") and not (
            _MONTH_CONTEXT.search(text[max(0, m.start() - 12) : m.start()])
            or re.match(r"\s+\d", text[m.end() :])
        ):
            return None
        return _month(word)
    return m.group().lower()


def find_dates(text: str) -> tuple[list[str], str]:
    """Canonical dates in text order ("march 5", "2019", "1990s", "may", "monday") and the
    text with their spans blanked, so a date's digits are not read again as numbers."""
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []
    for kind, regex in enumerate(_DATE_RES):
        for m in regex.finditer(text):
            if any(s <= m.start() < e for s, e in spans):
                continue
            canon = _date_canon(kind, m, text)
            if canon:
                found.append((m.start(), canon))
                spans.append(m.span())
    masked = list(text)
    for s, e in spans:
        masked[s:e] = "|" * (e - s)  # not a space: "two Tuesday two" is not "two two"
    return [c for _, c in sorted(found)], "".join(masked)
