"""Who a sentence's claim comes from, read from its structure: reporting verbs, 'according
to', quotation marks and the subject that goes with them.

English rules, not a parser: a reporting verb or phrase (the cue) with a source before it
("Rutte said", "Rutte further ruled out", "He noted") or after it ("said Rutte", "according
to Reuters"). A source is *named* when it holds a capitalised name or an acronym, or is a
pronoun whose person the article named just before; generic nouns ("officials", "critics",
"many", "reports") make it *unnamed*. A sentence that is only a quotation takes the source
of the sentence before it when that one introduces the quote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.text.sentences import Segment
from schemas.sentence import Attribution, Span

_VERBS = (
    r"say|says|said|saying|tell|tells|told|telling|stated|stating|outlin(?:e|es|ed|ing)|"
    r"note|notes|noted|noting|emphasi[sz]e[sd]?|emphasi[sz]ing|stress(?:es|ed|ing)?|"
    r"add(?:s|ed|ing)?|explain(?:s|ed|ing)?|announc(?:e|es|ed|ing)|declar(?:e|es|ed|ing)|"
    r"confirm(?:s|ed|ing)?|den(?:y|ies|ied|ying)|warn(?:s|ed|ing)?|insist(?:s|ed|ing)?|"
    r"admit(?:s|ted|ting)?|acknowledg(?:e|es|ed|ing)|argu(?:e|es|ed|ing)|"
    r"claim(?:s|ed|ing)?|suggest(?:s|ed|ing)?|urg(?:e|es|ed|ing)|respond(?:s|ed|ing)?|"
    r"answer(?:s|ed|ing)?|repl(?:y|ies|ied|ying)|wr(?:ite|ites|ote|iting)|"
    r"tweet(?:s|ed|ing)?|report(?:s|ed|ing)?|reveal(?:s|ed|ing)?|estimat(?:e|es|ed|ing)|"
    r"predict(?:s|ed|ing)?|alleg(?:e|es|ed|ing)|testif(?:y|ies|ied|ying)|"
    r"caution(?:s|ed|ing)?|affirm(?:s|ed|ing)?|reiterat(?:e|es|ed|ing)|"
    r"maintain(?:s|ed|ing)?|contend(?:s|ed|ing)?|conced(?:e|es|ed|ing)|"
    r"indicat(?:e|es|ed|ing)|signal(?:s|l?ed|l?ing)|describ(?:e|es|ed|ing)|"
    r"underlin(?:e|es|ed|ing)|underscor(?:e|es|ed|ing)|remark(?:s|ed|ing)?|"
    r"pledg(?:e|es|ed|ing)|promis(?:e|es|ed|ing)|vow(?:s|ed|ing)?|recall(?:s|ed|ing)?|"
    r"observ(?:e|es|ed|ing)|comment(?:s|ed|ing)?|assert(?:s|ed|ing)?|"
    r"accus(?:e|es|ed|ing)|complain(?:s|ed|ing)?|theori[sz](?:e|es|ed|ing)|"
    r"believ(?:e|es|ed|ing)|oppos(?:e|es|ed|ing)|reject(?:s|ed|ing)?|dismiss(?:es|ed|ing)?|"
    r"critici[sz](?:e|es|ed|ing)|condemn(?:s|ed|ing)?|welcom(?:e|es|ed|ing)|"
    r"prais(?:e|es|ed|ing)|express(?:es|ed|ing)?|"
    r"point(?:s|ed|ing)? out|rul(?:e|es|ed|ing) out|call(?:s|ed|ing)? for|"
    r"made clear|making clear|makes clear"
)
CUE = re.compile(rf"\b(?:{_VERBS})\b", re.IGNORECASE)
PHRASE = re.compile(
    r"\b(?:according to|as reported by|in an? (?:interview|statement|speech|op-ed|post|letter)"
    r"(?: with| to| on)?|speaking (?:to|after|at|on|with)|quoted by|cited by|per)\s+",
    re.IGNORECASE,
)
QUOTATION = re.compile(r"[“\"]([^”\"]{12,})[”\"]")
PRONOUNS = {"he", "she", "they"}
GENERIC = {
    "sources", "source", "officials", "official", "critics", "critic", "experts", "expert",
    "analysts", "analyst", "observers", "reports", "report", "many", "some", "others",
    "people", "insiders", "diplomats", "commentators", "media", "witnesses",
    "residents", "rumors", "rumours", "speculation", "few",
    "several", "most", "someone", "somebody", "everyone", "users", "supporters", "opponents",
}  # fmt: skip
# Head nouns that are not speakers: "his statements suggest", "this move signals".
NON_AGENTS = {
    "statement", "statements", "remarks", "comments", "words", "move", "decision", "position",
    "stance", "shift", "news", "announcement", "approach", "call", "this", "that", "it",
    "there", "which", "influence", "role", "development", "developments", "situation",
    "data", "figures", "evidence", "reality", "fact", "idea", "question", "debate",
}  # fmt: skip
# Institutions the reader can identify without a name ("the ministry said").
INSTITUTIONS = {
    "ministry", "government", "police", "company", "court", "army", "military", "agency",
    "department", "spokesperson", "spokesman", "spokeswoman", "embassy", "prosecutors",
    "prosecutor", "council", "commission", "parliament", "cabinet", "administration",
    "alliance", "bloc", "union", "authorities", "regulator", "study", "survey", "poll",
}  # fmt: skip
# Words that open a sentence with a capital letter without naming anyone.
COMMON = {
    "the", "a", "an", "this", "that", "these", "those", "it", "its", "in", "on", "at", "as",
    "but", "and", "or", "when", "while", "after", "before", "if", "for", "to", "with", "yet",
    "so", "however", "meanwhile", "still", "also", "then", "now", "today", "yesterday",
    "speaking", "asked", "according", "last", "next", "previous", "previously",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
    "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "i", "we", "you", "his", "her", "their", "our", "my", "by",
    "from", "of", "without", "during", "reflecting", "given", "only", "what", "how", "why",
}  # fmt: skip
BOUNDARY = re.compile(r"[,;:(—–]|\b(?:that|which|who|when|if|and|but|while|as)\b", re.IGNORECASE)
QUOTED_SHARE = 0.7  # a sentence this much inside quotation marks is someone's words
MAX_SOURCE_WORDS = 8  # a longer stretch before the verb is not its subject
LEADING_WORDS = 6  # where a sentence's subject is looked for
FIRST_PERSON = re.compile(r"^(?:\W*(?:but|and|so|yet|now|still)\s+)?(?:I|We)\b", re.IGNORECASE)
POSSESSIVE = re.compile(r"[’']s?$")
QUANTIFIERS = {"many", "some", "several", "few", "most", "others", "numerous", "various"}
INVERTED = re.compile(r"[,”\"]\s*$")  # ", said Rutte" / "...” said the minister"
WORD = re.compile(r"[\w’'.-]+")


def _named(words: str) -> bool:
    """Holds a capitalised name or acronym that is not a common sentence opener."""
    tokens = [POSSESSIVE.sub("", t) for t in WORD.findall(words)]
    return any(t[:1].isupper() and t.lower().strip(".") not in COMMON for t in tokens)


def _subject_before(text: str, cue_start: int) -> tuple[int, int] | None:
    """The words naming who speaks, just before the cue: back to a clause boundary, skipping
    an appositive set off by commas ("Rutte, NATO's chief, said")."""
    window = text[:cue_start]
    cut = max((m.end() for m in BOUNDARY.finditer(window)), default=0)
    words = window[cut:].strip()
    if not words and window.rstrip().endswith(","):
        head = window.rstrip()[:-1]
        inner = head.rfind(",")
        if inner > 0:
            cut = max((m.end() for m in BOUNDARY.finditer(head[:inner])), default=0)
            words = head[cut:inner].strip()
            return _trim(text, cut, inner) if words else None
    if not words:
        return None
    return _trim(text, cut, cue_start)


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without outer spaces and trailing adverbs ("further", "also")."""
    piece = text[start:end]
    words = list(WORD.finditer(piece))
    while words and words[-1].group().lower() in {"further", "also", "then", "again", "later",
                                                    "repeatedly", "publicly", "previously",
                                                    "had", "has", "have", "was", "is", "were",
                                                    "would", "will", "even", "just", "reportedly",
                                                    "clearly", "directly", "once"}:  # fmt: skip
        words.pop()
    if not words:
        return None
    return start + words[0].start(), start + words[-1].end()


def _subject_after(text: str, cue_end: int) -> tuple[int, int] | None:
    """A name right after the cue ("said Rutte", "according to Reuters")."""
    match = re.match(
        r"\s*((?:the\s+)?(?!that\b)(?:[A-Z][\w’'.-]*|[a-z]+(?:\s+[a-z]+)?)"
        r"(?:\s+[A-Z][\w’'.-]*){0,4})",
        text[cue_end:],
    )
    if not match:
        return None
    return cue_end + match.start(1), cue_end + match.end(1)


def _leading_subject(text: str) -> tuple[int, int] | None:
    """The capitalised words among the sentence's first few, as one span ("Rutte's
    predecessor Jens Stoltenberg made ..."), when no clause boundary cuts them."""
    words = list(WORD.finditer(text))[:LEADING_WORDS]
    named = [w for w in words if _named(w.group())]
    if not named or BOUNDARY.search(text[named[0].start() : named[-1].end()]):
        return None
    return named[0].start(), named[-1].end()


def _source_kind(words: str) -> str | None:
    """'named', 'pronoun', 'unnamed' or None (not a source: 'it was', 'the move')."""
    tokens = [t.lower().strip("’'") for t in WORD.findall(words)]
    if not tokens or len(tokens) > MAX_SOURCE_WORDS or tokens[-1] in NON_AGENTS:
        return None
    if tokens[-1] in PRONOUNS:
        return "pronoun"
    if tokens[0] in QUANTIFIERS or tokens[-1] in GENERIC:
        return "unnamed"  # "many analysts", "NATO officials", "critics"
    if _named(words) or tokens[-1] in INSTITUTIONS:
        return "named"
    if tokens[0] in GENERIC:
        return "unnamed"
    return None


def _find(segment: Segment, text: str) -> tuple[str, Span, Span | None] | None:
    """(kind, cue, source) of the first cue in the sentence that has a source."""
    base = segment.start
    found: list[tuple[int, str, Span, Span | None]] = []
    for match in PHRASE.finditer(text):
        after = _subject_after(text, match.end())
        kind = _source_kind(text[after[0] : after[1]]) if after else None
        if after and kind:
            cue = Span(start=base + match.start(), end=base + match.end(), text=match.group())
            found.append((match.start(), kind, cue, _span(segment, after)))
    for match in CUE.finditer(text):
        if re.search(r"\bto\s+$", text[: match.start()]):
            continue  # "his decision to announce": an infinitive reports nothing
        cue = Span(start=base + match.start(), end=base + match.end(), text=match.group())
        after = INVERTED.search(text[: match.start()]) and _subject_after(text, match.end())
        # "X made a statement in a speech, stating that ...": the participle's speaker is the
        # sentence's subject, named at its start.
        leading = _leading_subject(text) if match.group().lower().endswith("ing") else None
        for where in (_subject_before(text, match.start()), after or None, leading):
            kind = _source_kind(text[where[0] : where[1]]) if where else None
            if where and kind:
                found.append((match.start(), kind, cue, _span(segment, where)))
                break
    if not found:
        return None
    rank = {"named": 0, "pronoun": 1, "unnamed": 2}
    _, kind, cue, source = min(found, key=lambda f: (rank[f[1]], f[0]))
    return kind, cue, source


def _span(segment: Segment, where: tuple[int, int]) -> Span:
    start, end = where
    # A named source starts at its name: "In fresh comments NATO chief Rutte" -> "NATO ...".
    for word in WORD.finditer(segment.text[start:end]):
        if _named(word.group()):
            start += word.start()
            break
    return Span(start=segment.start + start, end=segment.start + end, text=segment.text[start:end])


def quoted_share(text: str, open_before: bool = False) -> float:
    """Share of the sentence inside quotation marks (it may open inside a quotation)."""
    inside, quoted = open_before, 0
    for char in text:
        if char in '“”"':
            inside = char == "“" or (char == '"' and not inside)
            continue
        quoted += inside
    return quoted / max(1, len(text))


def _still_open(text: str, open_before: bool) -> bool:
    """Whether a quotation is still open after the sentence."""
    inside = open_before
    for char in text:
        if char == "“":
            inside = True
        elif char == "”":
            inside = False
        elif char == '"':
            inside = not inside
    return inside


def attribute(segments: Sequence[Segment]) -> list[Attribution | None]:
    """The attribution of each sentence (None: the article speaks in its own voice).

    Questions and the writer's first-person sentences outside quotations have none; a
    sentence that is (nearly) all quotation, or continues one, takes the speaker of the
    sentence that introduced it."""
    out: list[Attribution | None] = []
    last_named: Attribution | None = None
    speaker: Attribution | None = None  # who the last quotation or cue belonged to
    open_quote = False
    paragraph = -1
    for segment in segments:
        if segment.paragraph != paragraph and not open_quote:
            speaker = speaker if segment.paragraph == paragraph + 1 else None
        paragraph = segment.paragraph
        text = segment.text
        quoted = quoted_share(text, open_quote) >= QUOTED_SHARE
        result: Attribution | None = None
        found = None if text.rstrip().endswith("?") and not quoted else _find(segment, text)
        if found is not None and not (FIRST_PERSON.match(text) and not quoted):
            kind, cue, source = found
            named = kind == "named" or (kind == "pronoun" and last_named is not None)
            result = Attribution(named=named, cue=cue, source=source, sentence=segment.id)
        elif quoted and speaker is not None:
            cue = Span(start=segment.start, end=segment.end, text=text)
            result = speaker.model_copy(update={"cue": cue})
        if result is not None:
            speaker = result
            last_named = result if result.named else last_named
        open_quote = _still_open(text, open_quote)
        out.append(result)
    return out
