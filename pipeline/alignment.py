"""Cheap alignment checks: what a statement asserts that its evidence does not show.

Pure-Python signals for the statement checker (numbers, dates, names and negation missing from
the evidence, plus the share of novel content words). Each check leans lenient: a false alarm on
a faithful paraphrase costs more than a miss, since an LLM probability is combined with these.
`feature_vector` turns the signals into logistic-regression inputs in `FEATURE_NAMES` order.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

# Feature order is part of the API: a fitted model's weights follow it. Flags are 0/1, counts raw.
FEATURE_NAMES: tuple[str, ...] = (
    "numbers_missing",  # 1 if a number/quantity of the statement is absent from the evidence
    "numbers_missing_count",
    "dates_missing",  # 1 if a year, month, weekday or day-and-month is absent
    "dates_missing_count",
    "names_missing",  # 1 if a capitalised name has no match in the evidence
    "names_missing_count",
    "negation_mismatch",  # 1 if statement and best-matching evidence sentence differ in negation
    "novel_content_ratio",  # share of the statement's content words absent from the evidence
    "best_sentence_gap",  # 1 - share of the weakest statement sentence's words in one evidence one
)


def _w(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOPWORDS = _w(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either else
    ever few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most much my myself of off on once only or other
    our ours out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up upon very was we
    were what when where which while who whom whose why will with would you your yours yourself
    yourselves said says say told tells according may might must shall one ones also s mr mrs ms
    not no never none nobody nothing neither nor without cannot nowhere yet still"""
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
_NON_CONTENT = _STOPWORDS | set(_NUMBER_WORDS) | set(_MULT) | _w(_MONTHS) | set(_WEEKDAYS)
_NON_CONTENT |= {"sept", "per", "cent", "percent"}
_TITLES = _w(
    """mr mrs ms miss dr sir dame lord lady president prime minister chancellor senator sen rep
    gov governor general gen captain capt prof professor judge king queen prince princess pope
    saint st rev officer sgt coach manager chief secretary mayor"""
)
_CONNECTORS = _w("of de da del der van von den al bin le la du")
_NEG_WORDS = _w("not no never none nobody nothing neither nor without cannot nowhere")
_NEG_VERBS = _w("deny denies denied denying refuse refuses refused refusing")
_FAIL = _w("fail fails failed failing")

_NW = "|".join(sorted((*_SMALL, *_TENS), key=len, reverse=True))
_NUM_RE = re.compile(
    r"(?<![\w.,])(?:(?P<cur>[$£€])\s?)?"
    rf"(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|(?:{_NW})(?:[\s-]+(?:and\s+)?(?:{_NW}|hundred))*)"
    r"(?P<ord>st|nd|rd|th)?"
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
_TOKEN_RE = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Za-z]+(?:'[A-Za-z]+)*'?")
_SPLIT_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\n+\s*")
_ABBREV_RE = re.compile(
    r"(?:\b[A-Za-z]|\b(?:mr|mrs|ms|dr|st|jr|sr|gen|gov|sen|rep|prof|no|vs))\.$", re.I
)
_FOLD = str.maketrans(
    {"‘": "'", "’": "'", "`": "'", "´": "'", "“": '"', "”": '"', "–": "-", "—": "-"}
)
_CLITIC_RE = re.compile(r"\s+(n't|'s|'re|'ll|'ve|'d|'m)\b")
_NEG_WINDOW = (-3, 6)  # a cue negates content words from 3 tokens before to 6 after it
_NEG_MIN_COVERAGE = 0.5  # below this the best evidence sentence is not about the same thing
_NEG_TIE_MARGIN = 0.1  # evidence sentences this close to the best may also agree


@dataclass(frozen=True, slots=True)
class _Token:
    text: str  # surface form
    key: str  # lowercase, dots and possessive removed ("U.S." -> "us", "Obama's" -> "obama")
    stem: str
    initial: bool  # first word of its sentence


@dataclass(frozen=True)
class _Evidence:
    sentences: tuple[tuple[_Token, ...], ...]
    sentence_stems: tuple[frozenset[str], ...]
    words: frozenset[str]  # keys, any case
    lowercase: frozenset[str]  # keys written in lowercase somewhere
    stems: frozenset[str]
    prefixes: frozenset[str]  # 5-letter stem prefixes, for loose morphology
    capitalised: frozenset[str]  # stems of words written capitalised
    proper: frozenset[str]  # keys mostly capitalised mid-sentence (to recase a lowercase statement)
    first_names: dict[str, frozenset[str]]  # key -> capitalised words written right before it
    joined: str  # " key key ... " for phrase lookup
    numbers: frozenset[float]
    dates: frozenset[str]


@dataclass(frozen=True)
class AlignmentSignals:
    """What a statement asserts that its evidence lacks; tuples hold the offending text."""

    numbers_missing: tuple[str, ...]
    dates_missing: tuple[str, ...]
    names_missing: tuple[str, ...]
    negation_mismatch: bool
    negation_cues: tuple[str, ...]  # "statement: never" or "evidence: not"
    novel_words: tuple[str, ...]
    novel_content_ratio: float
    best_sentence_coverage: float  # weakest statement sentence's share found in one evidence one

    @property
    def numbers_missing_count(self) -> int:
        """How many statement numbers the evidence lacks."""
        return len(self.numbers_missing)

    @property
    def dates_missing_count(self) -> int:
        """How many statement dates the evidence lacks."""
        return len(self.dates_missing)

    @property
    def names_missing_count(self) -> int:
        """How many statement names the evidence lacks."""
        return len(self.names_missing)

    @property
    def flags(self) -> int:
        """How many of the four binary checks fire (numbers, dates, names, negation)."""
        missing = (self.numbers_missing, self.dates_missing, self.names_missing)
        return sum(bool(m) for m in missing) + self.negation_mismatch


def alignment_signals(statement: str, evidence: str) -> AlignmentSignals:
    """Compare a statement with its evidence (article or retrieved sentences)."""
    ev = _analyse(evidence)
    text = _fold(statement)
    sentences = [_tokens(s) for s in _sentences(text)]
    dates, masked = _dates(text)
    numbers = [s for s, v in _numbers(masked) if v not in ev.numbers]
    coverage, cues = _sentence_alignment(sentences, ev)
    novel, total = _novel_words(sentences, ev)
    return AlignmentSignals(
        numbers_missing=_unique(numbers),
        dates_missing=_unique(d for d in dates if not _date_found(d, ev)),
        names_missing=_unique(_missing_names(sentences, text, ev)),
        negation_mismatch=bool(cues),
        negation_cues=tuple(cues),
        novel_words=tuple(novel),
        novel_content_ratio=len(novel) / total if total else 0.0,
        best_sentence_coverage=coverage,
    )


def feature_vector(signals: AlignmentSignals) -> list[float]:
    """The signals as floats in `FEATURE_NAMES` order (higher = less supported)."""
    s = signals
    return [
        float(bool(s.numbers_missing)),
        float(s.numbers_missing_count),
        float(bool(s.dates_missing)),
        float(s.dates_missing_count),
        float(bool(s.names_missing)),
        float(s.names_missing_count),
        float(s.negation_mismatch),
        s.novel_content_ratio,
        1.0 - s.best_sentence_coverage,
    ]


def explain(signals: AlignmentSignals) -> list[str]:
    """One plain sentence per finding, for a report."""
    out = [f"the evidence never mentions {x}" for x in signals.numbers_missing]
    out += [f"the evidence never mentions the date {x}" for x in signals.dates_missing]
    out += [f"the evidence never names {x}" for x in signals.names_missing]
    if signals.negation_mismatch:
        out.append(
            "negation differs from the closest evidence: " + ", ".join(signals.negation_cues)
        )
    return out


# --- text basics ------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Strip diacritics, unify quotes and dashes, rejoin clitics split off by tokenisers."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _CLITIC_RE.sub(r"\1", plain)


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for piece in _SPLIT_RE.split(text):
        if not piece.strip():
            continue
        if out and _ABBREV_RE.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _key(token: str) -> str:
    key = token.lower().replace(".", "")
    return (key[:-2] if key.endswith("'s") else key).rstrip("'")


def _stem(word: str) -> str:
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


def _tokens(sentence: str) -> tuple[_Token, ...]:
    matches = _TOKEN_RE.finditer(sentence)
    return tuple(
        _Token(m.group(), k := _key(m.group()), _stem(k), i == 0) for i, m in enumerate(matches)
    )


def _content(tokens: tuple[_Token, ...]) -> dict[str, str]:
    """Content words of a sentence: stem -> first surface form."""
    out: dict[str, str] = {}
    for t in tokens:
        if len(t.key) > 1 and t.key.isalpha() and t.key not in _NON_CONTENT:
            out.setdefault(t.stem, t.text)
    return out


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# --- numbers and dates ------------------------------------------------------------------------


def _words_value(phrase: str) -> float:
    value = 0
    for word in re.findall(r"[a-z]+", phrase.lower()):
        if word == "hundred":
            value = max(value, 1) * 100
        else:
            value += _SMALL.get(word, _TENS.get(word, 0))
    return float(value)


def _numbers(text: str) -> list[tuple[str, float]]:
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


def _dates(text: str) -> tuple[list[str], str]:
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
        masked[s:e] = " " * (e - s)
    return [c for _, c in sorted(found)], "".join(masked)


def _date_found(date: str, ev: _Evidence) -> bool:
    return date in ev.dates or (date.isdigit() and float(date) in ev.numbers)


# --- evidence ---------------------------------------------------------------------------------


@lru_cache(maxsize=128)
def _analyse(evidence: str) -> _Evidence:
    text = _fold(evidence)
    sentences = tuple(_tokens(s) for s in _sentences(text))
    flat = [t for s in sentences for t in s]
    stems = frozenset(t.stem for t in flat)
    dates = _dates(text)[0]
    return _Evidence(
        sentences=sentences,
        sentence_stems=tuple(frozenset(_content(s)) for s in sentences),
        words=frozenset(t.key for t in flat),
        lowercase=frozenset(t.key for t in flat if t.text.islower()),
        stems=stems,
        prefixes=frozenset(s[:5] for s in stems if len(s) >= 5),
        capitalised=frozenset(t.stem for t in flat if t.text[0].isupper()),
        proper=_proper(flat),
        first_names=_first_names(sentences),
        joined=" " + " ".join(t.key for t in flat) + " ",
        numbers=frozenset(v for _, v in _numbers(text)),
        dates=frozenset(dates + [d.split()[0] for d in dates]),
    )


def _proper(tokens: list[_Token]) -> frozenset[str]:
    upper: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for t in tokens:
        if not t.initial and t.key not in _NON_CONTENT:
            seen[t.key] += 1
            upper[t.key] += t.text[0].isupper()
    return frozenset(k for k, n in seen.items() if 2 * upper[k] > n)


def _first_names(sentences: tuple[tuple[_Token, ...], ...]) -> dict[str, frozenset[str]]:
    names: defaultdict[str, set[str]] = defaultdict(set)
    for tokens in sentences:
        for a, b in pairwise(tokens):
            possessive = a.text.endswith(("'s", "'"))  # "France's Dubuisson" names no first name
            first = a.key not in _TITLES and a.key not in _STOPWORDS
            if a.text[0].isupper() and b.text[0].isupper() and first and not possessive:
                names[b.key].add(a.key)
    return {k: frozenset(v) for k, v in names.items()}


def _supported(stem: str, ev: _Evidence) -> bool:
    return stem in ev.stems or (len(stem) >= 5 and stem[:5] in ev.prefixes)


# --- names ------------------------------------------------------------------------------------


def _is_cased(text: str) -> bool:
    """True when capitals carry information (not all-lowercase, not Title Case, not CAPS)."""
    words = [w for w in _TOKEN_RE.findall(text) if _key(w) not in _STOPWORDS]
    caps = sum(w[0].isupper() for w in words)
    title_case = len(words) >= 3 and caps == len(words)
    return caps > 0 and not title_case and not text.isupper()


def _name_like(t: _Token, ev: _Evidence, cased: bool, lower: set[str]) -> bool:
    if not t.key.isalpha() or t.key in _NON_CONTENT:
        return False
    if not cased:
        return t.key in ev.proper
    common = t.initial and (t.key in ev.lowercase or t.key in lower)
    return t.text[0].isupper() and not common


def _name_spans(
    tokens: tuple[_Token, ...], ev: _Evidence, cased: bool, lower: set[str]
) -> Iterator[list[_Token]]:
    span: list[_Token] = []
    for i, t in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if _name_like(t, ev, cased, lower):
            if not span and not cased and i and _novel_first_name(tokens[i - 1], ev):
                span.append(tokens[i - 1])
            span.append(t)
        elif span and t.key in _CONNECTORS and nxt and _name_like(nxt, ev, cased, lower):
            span.append(t)
        elif span:
            yield span
            span = []
    if span:
        yield span


def _novel_first_name(t: _Token, ev: _Evidence) -> bool:
    """In a lowercase statement, an unseen word before a known name may be a swapped first name."""
    return (
        t.key.isalpha()
        and len(t.key) > 2
        and t.key not in _NON_CONTENT
        and not _supported(t.stem, ev)
    )


def _name_found(span: list[_Token], ev: _Evidence) -> bool:
    keys = [t.key for t in span if t.key not in _TITLES]
    core = [k for k in keys if k not in _CONNECTORS] or [t.key for t in span]
    if f" {' '.join(keys)} " in ev.joined or _alias_found(" ".join(core), ev):
        return True
    head, others = core[-1], core[:-1]
    if _stem(head) not in ev.capitalised:
        return False
    if all(o in ev.words for o in others):
        return True
    # a surname alone matches, unless the evidence gives that surname a different first name
    return not (ev.first_names.get(head, frozenset()) - set(others))


_ALIASES = {
    "us": ("united states", "america"),
    "united states": ("us",),
    "uk": ("united kingdom", "britain"),
    "united kingdom": ("uk", "britain"),
    "un": ("united nations",),
    "united nations": ("un",),
    "eu": ("european union",),
    "european union": ("eu",),
}


def _alias_found(name: str, ev: _Evidence) -> bool:
    return any(f" {a} " in ev.joined for a in _ALIASES.get(name, ()))


def _missing_names(sentences: list[tuple[_Token, ...]], text: str, ev: _Evidence) -> list[str]:
    cased = _is_cased(text)
    lower = {t.key for s in sentences for t in s if t.text.islower()}
    out = []
    for tokens in sentences:
        for span in _name_spans(tokens, ev, cased, lower):
            if not _name_found(span, ev):
                out.append(" ".join(t.text for t in span))
    return out


# --- negation, coverage, novelty --------------------------------------------------------------


def _negation_cues(tokens: tuple[_Token, ...]) -> list[int]:
    out = []
    for i, t in enumerate(tokens):
        nxt = tokens[i + 1].key if i + 1 < len(tokens) else ""
        word = (t.key in _NEG_WORDS and nxt != "only") or t.key.endswith("n't")
        if word or t.key in _NEG_VERBS or (t.key in _FAIL and nxt == "to"):
            out.append(i)
    return out


def _negated(tokens: tuple[_Token, ...], anchors: frozenset[str]) -> list[str]:
    """The negation cues of a sentence that sit close to one of the anchor stems."""
    lo, hi = _NEG_WINDOW
    where = [i for i, t in enumerate(tokens) if t.stem in anchors]
    cues = _negation_cues(tokens)
    return [tokens[p].text for p in cues if any(lo <= a - p <= hi and a != p for a in where)]


def _sentence_alignment(
    sentences: list[tuple[_Token, ...]], ev: _Evidence
) -> tuple[float, list[str]]:
    """Weakest best-sentence coverage over the statement's sentences, and negation mismatches."""
    weakest, cues = 1.0, []
    for tokens in sentences:
        content = frozenset(_content(tokens))
        if not content or not ev.sentences:
            continue
        scores = [len(content & s) / len(content) for s in ev.sentence_stems]
        best = max(scores)
        weakest = min(weakest, best)
        if best >= _NEG_MIN_COVERAGE:
            close = [i for i, s in enumerate(scores) if s >= best - _NEG_TIE_MARGIN]
            cues += _negation_differs(tokens, close, ev)
    return weakest, cues


def _negation_differs(tokens: tuple[_Token, ...], close: list[int], ev: _Evidence) -> list[str]:
    """Cues that differ from every close evidence sentence ([] when one of them agrees)."""
    content = frozenset(_content(tokens))
    first: list[str] = []
    for i in close:
        shared = content & ev.sentence_stems[i]
        mine, theirs = _negated(tokens, shared), _negated(ev.sentences[i], shared)
        if bool(mine) == bool(theirs):
            return []
        first = first or [f"statement: {c}" for c in mine] + [f"evidence: {c}" for c in theirs]
    return first


def _novel_words(sentences: list[tuple[_Token, ...]], ev: _Evidence) -> tuple[list[str], int]:
    content: dict[str, str] = {}
    for tokens in sentences:
        for stem, surface in _content(tokens).items():
            content.setdefault(stem, surface)
    novel = [surface for stem, surface in content.items() if not _supported(stem, ev)]
    return novel, len(content)
