"""Stage 1, clean: raw text or HTML into title, byline, date and body, boilerplate removed.

HTML goes through trafilatura; scraped plain text (and trafilatura's output) through a rule set
of line patterns plus a tail cut. No model call: the rules are deterministic and tested, and
every line they drop is kept in ``Article.removed`` so an editor can see what went.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache

import trafilatura
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from pipeline.core.errors import InputError
from pipeline.text.ingest import RawDocument
from schemas.article import Article

BOILERPLATE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\byou may also like\b",
        r"\balso like to (watch|read)\b",
        r"^leave a (reply|comment)\b",
        r"your email address will not be published",
        r"required fields are marked",
        r"\bsubscribe to (our|the) newsletter\b",
        r"\bfollow us on (twitter|x|facebook|instagram|telegram|google news)\b",
        r"^(similar|related|recommended) (articles|posts|stories|news)\b",
        r"^(calendar|most popular|most read|newsletter|our company|lat?est news|trending( now)?"
        r"|advertisement|sponsored|share( this)?( article| post)?|tweet|comments?|tags?:?)$",
        r"^\d+\s+comments?$",
        r"\blorem ipsum\b",
        r"^are you sure (you )?want to\b",
        r"^unlock left\b",
        r"\bupdate required\b|\bflash plugin\b",
        r"\ball rights? reserved\b",
        r"^thanks for reading\b",
        r"^click here to\b",
        r"^(read more|continue reading|see also)\b",
        r"^\(video\)",
        r"\b(accept|use) (all )?cookies\b",
        r"^[-–—•·|*]*$",
        r"^-?\d{1,2}:\d{2}(:\d{2})?$",
    )
]
BREADCRUMB = re.compile(r"^(home|start)\s*[»>›/|]\s*(?P<rest>.+)$", re.IGNORECASE)
BYLINE = re.compile(r"^by\b[\s|:]*(?P<rest>.{0,80})$", re.IGNORECASE)
DATE_PREFIX = re.compile(r"^date\s+(?P<date>\d{4}-\d{2}-\d{2})\s+(?P<rest>.+)$", re.IGNORECASE)
MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
DATE = re.compile(
    rf"\b(\d{{4}}-\d{{2}}-\d{{2}}|{MONTH}\.? \d{{1,2}},? \d{{4}}|\d{{1,2}} {MONTH} \d{{4}})\b",
    re.IGNORECASE,
)
GENERIC_AUTHORS = {"admin", "administrator", "staff", "editor", "editorial team", "newsroom"}
TITLE_MAX_WORDS = 30
PROSE_MIN_WORDS = 8
LANGUAGE_MIN_WORDS = 5  # below this a language guess is noise
SENTENCE_END = tuple(".!?\"'”’)…]")


def iso_date(text: str) -> str:
    """ISO 8601 for the common date spellings, else the text as found."""
    cleaned = re.sub(r"\s+", " ", text.replace(",", "").replace(".", "")).strip()
    for fmt in ("%Y-%m-%d", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(cleaned, fmt).date().isoformat()
        except ValueError:
            continue
    return text.strip()


def is_boilerplate(line: str) -> bool:
    """True for navigation, share prompts, ads, comment forms and player debris."""
    core = " ".join(line.split()).lstrip("•·*-– ").strip()
    return any(p.search(core) for p in BOILERPLATE) or not core


def is_prose(line: str) -> bool:
    """A sentence-like paragraph: enough words and sentence-final punctuation."""
    return len(line.split()) >= PROSE_MIN_WORDS and line.rstrip().endswith(SENTENCE_END)


def _title_like(line: str) -> bool:
    short = len(line.split()) <= TITLE_MAX_WORDS
    return short and (not is_prose(line) or line.endswith(("!", "?")))


class _Meta:
    def __init__(self) -> None:
        self.title: str | None = None
        self.byline: str | None = None
        self.published: str | None = None


def _take_metadata(line: str, meta: _Meta, removed: list[str]) -> str | None:
    """Consume breadcrumb, byline and date lines; return what is left of the line as body."""
    if crumb := BREADCRUMB.match(line):
        removed.append(line)
        meta.title = meta.title or crumb["rest"].split("»")[-1].strip()
        return None
    if dated := DATE_PREFIX.match(line):
        meta.published = meta.published or iso_date(dated["date"])
        return dated["rest"].strip()
    if (alone := DATE.fullmatch(line.strip(" |,-–—"))) and not meta.published:
        meta.published = iso_date(alone.group(0))  # a dateline on its own
        return None
    if (by := BYLINE.match(line)) and not is_prose(line):
        removed.append(line)
        rest = by["rest"]
        if found := DATE.search(rest):
            meta.published = meta.published or iso_date(found.group(0))
            rest = rest.replace(found.group(0), "")
        name = rest.strip(" |,-–—")
        if name and name.lower() not in GENERIC_AUTHORS:
            meta.byline = name
        return None
    return line


def clean_lines(text: str, meta: _Meta) -> tuple[list[str], list[str]]:
    """Split scraped text into body paragraphs and removed lines."""
    removed: list[str] = []
    body: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if is_boilerplate(line):
            removed.append(line)
            continue
        rest = _take_metadata(line, meta, removed)
        if rest is None:
            continue
        if meta.title is None and not body and _title_like(rest):
            meta.title = rest
            continue
        if meta.title and rest == meta.title and not body:
            continue
        body.append(rest)
    last_prose = max((i for i, p in enumerate(body) if is_prose(p)), default=len(body) - 1)
    removed.extend(body[last_prose + 1 :])
    return body[: last_prose + 1], removed


def _from_html(html: str, source: str) -> tuple[str, _Meta]:
    extracted = trafilatura.extract(
        html, output_format="json", with_metadata=True, include_comments=False
    )
    if not extracted:
        raise InputError(f"{source}: HTML page has no article body")
    data = json.loads(extracted)
    meta = _Meta()
    meta.title = data.get("title") or None
    meta.byline = data.get("author") or None
    meta.published = data.get("date") or None
    return str(data.get("text") or ""), meta


@cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float | None]:
    """ISO 639-1 code and probability of the text's language (py3langid), None if unsure."""
    if len(text.split()) < LANGUAGE_MIN_WORDS:
        return None, None
    code, probability = _identifier().classify(text)
    return str(code), round(float(probability), 3)


def clean(doc: RawDocument) -> Article:
    """Turn one raw document into a clean article; an article with no body is an input error."""
    if doc.kind == "html":
        text, meta = _from_html(doc.content, doc.source)
    else:
        text, meta = doc.content, _Meta()
    meta.title = doc.title or meta.title
    meta.published = doc.published or meta.published
    paragraphs, removed = clean_lines(text, meta)
    if meta.title is None and paragraphs and not is_prose(paragraphs[0]):
        meta.title = paragraphs.pop(0)
    if not any(len(p.split()) >= 3 for p in paragraphs):
        what = "a title but no body" if meta.title else "no article text"
        if doc.kind == "html":
            what = "HTML page has no article body"
        raise InputError(f"{doc.source}: {what} after removing boilerplate")
    language, confidence = detect_language("\n".join(paragraphs))
    return Article(
        id=doc.id,
        source=doc.source,
        url=doc.url,
        title=meta.title,
        byline=meta.byline,
        published=meta.published,
        language=language,
        language_confidence=confidence,
        paragraphs=paragraphs,
        removed=removed,
    )
