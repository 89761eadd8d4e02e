"""What the facade accepts as an article, and how each kind is read (through pipeline.text.ingest).

An article is one of:

- a ``pathlib.Path`` (or any ``os.PathLike``): a .txt, .html or .json file, read like
  ``newsaudit check FILE``;
- a ``str``: a path when it is one line that names an existing file (or folder: refused)
  or ends in an article file's suffix (.txt, .text, .html, .htm, .xhtml, .json; a missing
  file is then an input error, never audited as text), refused when it is a URL; otherwise
  the article's own text (HTML when it looks like HTML, a JSON record when it is one);
- a record ``dict``: ``{id, url, source, title, published, text | html}`` as in a batch's
  JSONL input.

Anything that cannot be read raises ``InputError`` naming the input.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeAlias

from pipeline.batch.inputs import Item, input_paths, iter_inputs
from pipeline.core.errors import InputError
from pipeline.text.ingest import (
    MAX_STATEMENTS,
    RawDocument,
    from_record,
    parse_document,
    read_document,
)

# A RawDocument (pipeline.text.ingest) passes through as it is.
ArticleInput: TypeAlias = str | os.PathLike[str] | Mapping[str, Any] | RawDocument
Location: TypeAlias = str | os.PathLike[str]

PATH_SUFFIXES = {".txt", ".text", ".html", ".htm", ".xhtml", ".json"}
MAX_PATH_CHARS = 1024
TEXT_NAME = "<text>"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_path(text: str) -> bool:
    """Whether a str names a file or folder (see the module docstring), not the text."""
    candidate = text.strip()
    if not candidate or "\n" in candidate or len(candidate) > MAX_PATH_CHARS:
        return False
    if candidate.startswith(("http://", "https://")):
        return True  # read_document refuses it with the reason
    path = Path(candidate)
    try:
        return path.suffix.lower() in PATH_SUFFIXES or path.exists()
    except OSError:  # a one-line text too long for a file name
        return False


def read_path(location: str) -> RawDocument:
    """A file's article; a folder, a missing file or a URL is an input error."""
    path = Path(location)
    if path.is_dir():
        raise InputError(f"{location}: a folder, not an article (check_many reads a folder)")
    if not location.startswith(("http://", "https://")) and not path.is_file():
        raise InputError(f"{location}: no such file")
    return read_document(location)


def from_text(text: str) -> RawDocument:
    """The article's own text (plain, HTML or a JSON record); its id is ``text-`` + a hash."""
    ident = "text-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return parse_document(text.encode("utf-8"), TEXT_NAME, ident)


def to_document(article: object, index: int | None = None) -> RawDocument:
    """The raw document of one article input (``index``: its place in a ``check_many``)."""
    if isinstance(article, RawDocument):
        return article
    if isinstance(article, os.PathLike):
        return read_path(os.fspath(article))
    if isinstance(article, str):
        return read_path(article.strip()) if is_path(article) else from_text(article)
    if isinstance(article, Mapping):
        fallback = "record" if index is None else f"record-{index}"
        return from_record(dict(article), str(article.get("id") or fallback))
    raise InputError(
        f"{_short(article)}: not an article: give a path, the article's text or a record dict"
    )


def input_name(article: object, index: int) -> str:
    """How an input is named in its result and error record."""
    if isinstance(article, os.PathLike):
        return os.fspath(article)
    if isinstance(article, str):
        return article.strip() if is_path(article) else TEXT_NAME
    if isinstance(article, Mapping):
        return str(article.get("id") or f"record-{index}")
    return _short(article)


def _items(articles: Iterable[object]) -> Iterator[Item]:
    for index, article in enumerate(articles):
        try:
            yield Item(input_name(article, index), doc=to_document(article, index))
        except InputError as exc:
            yield Item(input_name(article, index), error=exc)


def iter_items(articles: Location | Iterable[ArticleInput]) -> Iterator[Item]:
    """The items of ``check_many``'s input: a location (a folder, a glob, a .jsonl or .parquet
    file) read lazily as ``newsaudit batch`` reads it, or an iterable of article inputs."""
    if isinstance(articles, str | os.PathLike):
        location = os.fspath(articles)
        input_paths(location)  # a missing location fails now, not at the first result
        return iter_inputs(location)
    if isinstance(articles, Mapping | bytes):
        raise InputError(
            f"{_short(articles)}: check_many takes a location or an iterable of articles "
            "(one record: use check)"
        )
    return _items(articles)


def to_statements(statements: str | Iterable[str], headline: bool) -> list[str]:
    """Statements as a list, whitespace collapsed; an empty one or too many is an input error."""
    given = [statements] if isinstance(statements, str) else list(statements)
    cleaned = []
    for number, statement in enumerate(given, start=1):
        if not isinstance(statement, str) or not statement.strip():
            raise InputError(f"statement {number}: not a non-empty string: {_short(statement)}")
        cleaned.append(" ".join(statement.split()))
    if not cleaned and not headline:
        raise InputError("statements: none given (and headline=False)")
    if len(cleaned) > MAX_STATEMENTS:
        raise InputError(f"statements: {len(cleaned)} given; at most {MAX_STATEMENTS} a call")
    return cleaned
