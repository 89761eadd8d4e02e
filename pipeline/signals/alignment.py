"""Cheap alignment checks: what a statement asserts that its evidence does not show.

Pure-Python signals for the statement checker (numbers, dates, names and negation missing from
the evidence, the share of novel content words, and values the evidence has only far from the
sentences that best match the statement). Each check leans lenient: a false alarm on a faithful
paraphrase costs more than a miss, since an LLM probability is combined with these. A statement
in lowercase (or Title Case) has its names recased from the evidence's own capitals.
`feature_vector` turns the signals into logistic-regression inputs in `FEATURE_NAMES` order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, pairwise

from pipeline.text.lexical import (
    NON_CONTENT,
    STOPWORDS,
    TOKEN_RE,
    Token,
    content_words,
    find_dates,
    find_numbers,
    fold,
    split_sentences,
    stem_word,
    tokenize,
    word_key,
    word_set,
)

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
    "misplaced",  # 1 if a number, date or name is in the evidence but not near the best match
    "misplaced_count",
)


_TITLES = word_set(
    """mr mrs ms miss dr sir dame lord lady president prime minister chancellor senator sen rep
    gov governor general gen captain capt prof professor judge king queen prince princess pope
    saint st rev officer sgt coach manager chief secretary mayor"""
)
_CONNECTORS = word_set("of de da del der van von den al bin le la du")
_NOT_FIRST_NAMES = _TITLES | _CONNECTORS | NON_CONTENT
_NEG_WORDS = word_set("not no never none nobody nothing neither nor without cannot nowhere")
_NEG_VERBS = word_set("deny denies denied denying refuse refuses refused refusing")
_FAIL = word_set("fail fails failed failing")
_SCOPE_STOP = word_set(
    "that which who whom whose but because while although though when if as and or"
)

_NEG_SCOPE = 4  # a cue negates the next few words, up to a comma or a clause word
_LOCAL_TOP = 2  # evidence sentences that count as "near" a statement sentence
_MIN_COVERAGE = 0.5  # below this the best evidence sentence is not about the same thing:
# negation and placement are not compared
_NEG_TIE_MARGIN = 0.1  # evidence sentences this close to the best may also agree


@dataclass(frozen=True)
class _Evidence:
    texts: tuple[str, ...]
    sentences: tuple[tuple[Token, ...], ...]
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
    misplaced: tuple[str, ...]  # numbers, dates, names the evidence has, not near the best match

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
    ev, text = _analyse(evidence), fold(statement)
    sentences, cased = split_sentences(text), _is_cased(text)
    numbers, dates, names = _specifics(sentences, ev, ev, cased)
    coverage, misplaced, cues = _placement(sentences, ev, cased)
    novel, total = _novel_words(text, ev)
    return AlignmentSignals(
        numbers_missing=_unique(numbers),
        dates_missing=_unique(dates),
        names_missing=_unique(names),
        negation_mismatch=bool(cues),
        negation_cues=tuple(cues),
        novel_words=tuple(novel),
        novel_content_ratio=len(novel) / total if total else 0.0,
        best_sentence_coverage=coverage,
        misplaced=_unique(misplaced),
    )


def novel_bigram_share(statement: str, evidence: str) -> float:
    """How abstractive the statement is: the share of its word pairs (stemmed, in order) that
    the evidence never writes (0 copies it, 1 writes it all in its own words)."""
    words = [t.stem for t in tokenize(fold(statement))]
    pairs = list(pairwise(words))
    if not pairs:
        return 0.0
    known = _bigrams(evidence)
    return sum(p not in known for p in pairs) / len(pairs)


@lru_cache(maxsize=64)
def _bigrams(evidence: str) -> frozenset[tuple[str, str]]:
    return frozenset(
        pair for s in _analyse(evidence).sentences for pair in pairwise(t.stem for t in s)
    )


def feature_vector(signals: AlignmentSignals) -> list[float]:
    """The signals as floats in `FEATURE_NAMES` order (higher = less supported)."""
    s = signals
    counts = (s.numbers_missing, s.dates_missing, s.names_missing)
    out = [float(x) for found in counts for x in (bool(found), len(found))]
    out += [float(s.negation_mismatch), s.novel_content_ratio, 1.0 - s.best_sentence_coverage]
    return [*out, float(bool(s.misplaced)), float(len(s.misplaced))]


def explain(signals: AlignmentSignals) -> list[str]:
    """One plain sentence per finding, for a report."""
    out = [f"the evidence never mentions {x}" for x in signals.numbers_missing]
    out += [f"the evidence never mentions the date {x}" for x in signals.dates_missing]
    out += [f"the evidence never names {x}" for x in signals.names_missing]
    out += [
        f"{x} is in the evidence, but not where the statement's content is"
        for x in signals.misplaced
    ]
    if signals.negation_mismatch:
        cues = ", ".join(signals.negation_cues)
        out.append(f"negation differs from the closest evidence ({cues})")
    return out


def _specifics(
    sentences: list[str], ev: _Evidence, look_in: _Evidence, cased: bool
) -> list[list[str]]:
    """Numbers, dates and names of the statement's sentences that `look_in` lacks."""
    out: list[list[str]] = [[], [], []]
    for sentence in sentences:
        dates, masked = find_dates(sentence)
        out[0] += [s for s, v in find_numbers(masked) if v not in look_in.numbers]
        out[1] += [d for d in dates if not _date_found(d, look_in)]
        spans = _name_spans(tokenize(sentence), ev, cased)
        out[2] += [_surface(x) for x in spans if not _name_found(x, look_in)]
    return out


def _placement(
    sentences: list[str], ev: _Evidence, cased: bool
) -> tuple[float, list[str], list[str]]:
    """Weakest best-sentence coverage, specifics found only far from the best-matching evidence
    sentences, and negation mismatches with them."""
    coverage, misplaced, cues = 1.0, [], []
    for sentence in sentences:
        tokens = tokenize(sentence)
        content = frozenset(content_words(tokens))
        scores = [len(content & s) / len(content) for s in ev.sentence_stems] if content else []
        coverage = min(coverage, max(scores, default=0.0 if content else 1.0))
        if scores and max(scores) >= _MIN_COVERAGE:
            far = set(chain(*_specifics([sentence], ev, ev, cased)))
            near = chain(*_specifics([sentence], ev, _near(scores, ev), cased))
            misplaced += [x for x in near if x not in far]
            cues += _negation(tokens, scores, ev)
    return coverage, misplaced, cues


def _near(scores: list[float], ev: _Evidence) -> _Evidence:
    """The evidence sentences that best match a statement sentence (ties included)."""
    cut = max(sorted(scores, reverse=True)[min(_LOCAL_TOP, len(scores)) - 1], 1e-9)
    return _analyse("\n".join(t for t, s in zip(ev.texts, scores, strict=True) if s >= cut))


# --- helpers ----------------------------------------------------------------------------------


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _date_found(date: str, ev: _Evidence) -> bool:
    return date in ev.dates or (date.isdigit() and float(date) in ev.numbers)


# --- evidence ---------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _analyse(evidence: str) -> _Evidence:
    text = fold(evidence)
    texts = tuple(split_sentences(text))
    sentences = tuple(tokenize(s) for s in texts)
    flat = [t for s in sentences for t in s]
    stems = frozenset(t.stem for t in flat)
    dates = find_dates(text)[0]
    return _Evidence(
        texts=texts,
        sentences=sentences,
        sentence_stems=tuple(frozenset(content_words(s)) for s in sentences),
        words=frozenset(t.key for t in flat),
        lowercase=frozenset(t.key for t in flat if t.text.islower()),
        stems=stems,
        prefixes=frozenset(s[:5] for s in stems if len(s) >= 5),
        capitalised=frozenset(t.stem for t in flat if t.text[0].isupper()),
        proper=_proper(flat),
        first_names=_first_names(sentences),
        joined=" " + " ".join(t.key for t in flat) + " ",
        numbers=frozenset(v for _, v in find_numbers(text)),
        dates=frozenset(dates + [d.split()[0] for d in dates]),
    )


def _proper(tokens: list[Token]) -> frozenset[str]:
    upper: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for t in tokens:
        if not t.initial and t.key not in NON_CONTENT:
            seen[t.key] += 1
            upper[t.key] += t.text[0].isupper()
    return frozenset(k for k, n in seen.items() if 2 * upper[k] > n)


def _first_names(sentences: tuple[tuple[Token, ...], ...]) -> dict[str, frozenset[str]]:
    """For each capitalised word, the capitalised words written right before it ("Adrian Gill")."""
    names: defaultdict[str, set[str]] = defaultdict(set)
    for tokens in sentences:
        for a, b in pairwise(tokens):
            possessive = a.text.endswith(("'s", "'"))  # "France's Dubuisson" names no first name
            word = a.key.isalpha() and a.key not in _NOT_FIRST_NAMES
            capitalised = a.text[0].isupper() and not a.text.isupper() and b.text[0].isupper()
            if word and capitalised and not possessive and not b.gap:
                names[b.key].add(a.key)
    return {k: frozenset(v) for k, v in names.items()}


def _supported(stem: str, ev: _Evidence) -> bool:
    return stem in ev.stems or (len(stem) >= 5 and stem[:5] in ev.prefixes)


# --- names ------------------------------------------------------------------------------------


def _is_cased(text: str) -> bool:
    """True when capitals carry information (not all-lowercase, not Title Case, not CAPS)."""
    words = [w for w in TOKEN_RE.findall(text) if w.isalpha() and word_key(w) not in STOPWORDS]
    caps = sum(w[0].isupper() for w in words)
    title_case = len(words) >= 3 and caps == len(words)
    return caps > 0 and not title_case and not text.isupper()


def _name_like(t: Token, nxt: Token | None, ev: _Evidence, cased: bool) -> bool:
    if not t.key.isalpha() or t.key in NON_CONTENT:
        return False
    if not cased:  # recase from the evidence
        return t.key in ev.proper
    if not t.text[0].isupper():
        return False
    if t.key in ev.lowercase and (t.initial or t.stem not in ev.capitalised):
        return False  # a common word the evidence writes in lowercase ("the Government")
    # a sentence-initial word is a name if the evidence writes it as one or a name follows
    followed = nxt is not None and nxt.text[0].isupper() and not nxt.gap
    return not t.initial or t.key in ev.proper or followed


def _name_spans(tokens: tuple[Token, ...], ev: _Evidence, cased: bool) -> list[list[Token]]:
    spans: list[list[Token]] = []
    open_ = False
    for i, t in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if _name_like(t, nxt, ev, cased):
            if not open_ or t.gap:
                first = not cased and i and not t.gap and _novel_first_name(tokens[i - 1], ev)
                spans.append([tokens[i - 1]] if first else [])
            spans[-1].append(t)
            open_ = True
        elif open_ and t.key in _CONNECTORS and nxt and _name_like(nxt, None, ev, cased):
            spans[-1].append(t)
        else:
            open_ = False
    return [x for x in spans if any(t.key not in _TITLES for t in x)]  # "the Prime Minister"


def _surface(span: list[Token]) -> str:
    """A name as the statement writes it, less titles ("Mayor Sadiq Khan" -> "Sadiq Khan")."""
    words = [t.text for t in span if t.key not in _TITLES] or [t.text for t in span]
    return " ".join(words)


def _novel_first_name(t: Token, ev: _Evidence) -> bool:
    """In a lowercase statement, an unseen word before a known name may be a swapped first name."""
    plain = t.key.isalpha() and len(t.key) > 2 and t.key not in NON_CONTENT
    return plain and not _supported(t.stem, ev)


def _name_found(span: list[Token], ev: _Evidence) -> bool:
    keys = [t.key for t in span if t.key not in _TITLES]
    core = [k for k in keys if k not in _CONNECTORS] or [t.key for t in span]
    if f" {' '.join(keys)} " in ev.joined or _alias_found(" ".join(core), ev):
        return True
    head, others = core[-1], core[:-1]
    if stem_word(head) not in ev.capitalised:
        return False
    if all(o in ev.words for o in others):
        return True
    # a surname alone matches, unless the evidence gives that surname a different first name
    return not (ev.first_names.get(head, frozenset()) - set(others))


_ALIASES: tuple[tuple[str, ...], ...] = (
    *(("us", "united states", "america"), ("uk", "united kingdom", "britain")),
    *(("un", "united nations"), ("eu", "european union")),
)


def aliased(word: str, evidence: str) -> bool:
    """True when ``evidence`` writes ``word`` another way ("U.S." as "United States")."""
    return _alias_found(word_key(word), _analyse(evidence))


def _alias_found(name: str, ev: _Evidence) -> bool:
    groups = [g for g in _ALIASES if name in g]
    return any(f" {alias} " in ev.joined for g in groups for alias in g if alias != name)


# --- negation, novelty ------------------------------------------------------------------------


def _negation_cues(tokens: tuple[Token, ...]) -> list[int]:
    out = []
    for i, t in enumerate(tokens):
        nxt = tokens[i + 1].key if i + 1 < len(tokens) else ""
        word = t.key in _NEG_WORDS and nxt != "only" and not nxt[:1].isdigit()  # "No 10"
        if word or t.key.endswith("n't") or t.key in _NEG_VERBS or (t.key in _FAIL and nxt == "to"):
            out.append(i)
    return out


def _negated(tokens: tuple[Token, ...], anchors: frozenset[str]) -> list[str]:
    """The negation cues whose scope (the next few words, up to a comma or a clause word) holds
    one of the anchor stems."""
    out = []
    for p in _negation_cues(tokens):
        for t in tokens[p + 1 : p + 1 + _NEG_SCOPE]:
            if t.gap or t.key in _SCOPE_STOP:
                break
            if t.stem in anchors:
                out.append(tokens[p].text)
                break
    return out


def _negation(tokens: tuple[Token, ...], scores: list[float], ev: _Evidence) -> list[str]:
    """Negation cues that differ from every evidence sentence close to the best match ([] when
    one of them agrees)."""
    best, content = max(scores), frozenset(content_words(tokens))
    first: list[str] = []
    for i in (i for i, s in enumerate(scores) if s >= best - _NEG_TIE_MARGIN):
        shared = content & ev.sentence_stems[i]
        mine, theirs = _negated(tokens, shared), _negated(ev.sentences[i], shared)
        if bool(mine) == bool(theirs):
            return []
        first = first or [f"statement: {c}" for c in mine] + [f"evidence: {c}" for c in theirs]
    return first


def _novel_words(text: str, ev: _Evidence) -> tuple[list[str], int]:
    content = content_words(tokenize(text))
    novel = [surface for stem, surface in content.items() if not _supported(stem, ev)]
    return novel, len(content)
