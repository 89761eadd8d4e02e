"""Reading articles: files, stdin or JSON records into raw documents, with clear input errors."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from charset_normalizer import from_bytes

from pipeline.core.errors import InputError

Kind = Literal["text", "html"]
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
CHAOS_TIE = 0.05
RECORD_FIELDS = {"id", "source", "title", "url", "published", "text", "html"}


@dataclass(frozen=True)
class RawDocument:
    """An article as read, before cleaning."""

    id: str
    source: str
    kind: Kind
    content: str
    title: str | None = None
    url: str | None = None
    published: str | None = None
    fields: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def decode(data: bytes, name: str) -> str:
    """UTF-8 if it is, else the detected encoding; binary data is an input error."""
    if not data:
        raise InputError(f"{name}: empty input")
    if not data.strip():
        raise InputError(f"{name}: only whitespace")
    if b"\x00" in data[:4096]:
        raise InputError(f"{name}: binary data, not an article")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        matches = list(from_bytes(data))
        if not matches:
            raise InputError(f"{name}: not text in any known encoding") from None
        # Near-ties on "chaos" are common for 8-bit codepages. Windows-1252, the web's most
        # common legacy encoding, wins when one of them reads the same; else coherence decides.
        least = min(m.chaos for m in matches)
        near = [m for m in matches if m.chaos <= least + CHAOS_TIE]
        try:
            western: str | None = data.decode("cp1252")
        except UnicodeDecodeError:
            western = None
        if western is not None and any(str(m) == western for m in near):
            return western
        return str(max(near, key=lambda m: m.coherence))


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:2048].lower()
    return head.startswith("<") and any(tag in head for tag in ("<html", "<body", "<p", "<div"))


def from_record(record: dict[str, Any], name: str) -> RawDocument:
    """A JSON record with id, url, source, title, published and text or html."""
    text, html = record.get("text"), record.get("html")
    if not isinstance(text, str) and not isinstance(html, str):
        raise InputError(f"{name}: record has neither 'text' nor 'html'")
    kind: Kind = "text" if isinstance(text, str) else "html"
    content = text if isinstance(text, str) else str(html)
    if not content.strip():
        raise InputError(f"{name}: record's '{'text' if kind == 'text' else 'html'}' is empty")
    return RawDocument(
        id=str(record.get("id") or name),
        source=str(record.get("source") or name),
        kind=kind,
        content=content,
        title=record.get("title"),
        url=record.get("url"),
        published=record.get("published"),
        # The record's other plain fields (a story id, a section...), for grouping.
        fields={
            k: str(v)
            for k, v in record.items()
            if k not in RECORD_FIELDS and isinstance(v, str | int) and not isinstance(v, bool)
        },
    )


def read_document(location: str) -> RawDocument:
    """Read a path, or '-' for stdin; URLs are refused (fetching is out of scope)."""
    if location.startswith(("http://", "https://")):
        raise InputError(
            f"{location}: fetching URLs is out of scope; save the page and pass the file"
        )
    if location == "-":
        name, data = "<stdin>", sys.stdin.buffer.read()
    else:
        path = Path(location)
        if not path.is_file():
            raise InputError(f"{location}: no such file")
        name, data = location, path.read_bytes()
    ident = Path(name).stem if location != "-" else "stdin"
    return parse_document(data, name, ident)


def parse_document(data: bytes, name: str, ident: str | None = None) -> RawDocument:
    """An article from a file's bytes: a JSON record, HTML or plain text, judged by content."""
    text = decode(data, name)
    if not text.strip():
        raise InputError(f"{name}: only whitespace")
    ident = ident or Path(name).stem
    if name.endswith(".json") or text.lstrip().startswith("{"):
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            if name.endswith(".json"):
                raise InputError(f"{name}: invalid JSON: {exc.msg} at line {exc.lineno}") from None
        else:
            if not isinstance(record, dict):
                raise InputError(f"{name}: JSON input must be one object (an article record)")
            return from_record({"id": ident, "source": name, **record}, name)
    suffix = Path(name).suffix.lower()
    kind: Kind = "html" if suffix in HTML_SUFFIXES or _looks_like_html(text) else "text"
    return RawDocument(id=ident, source=name, kind=kind, content=text)


MAX_STATEMENTS = 200


def parse_statements(data: bytes, name: str) -> list[str]:
    """Statements to check: a JSON list of strings, or one statement per non-empty line."""
    text = decode(data, name).strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(loaded, list) or not all(isinstance(s, str) for s in loaded):
            raise InputError(f"{name}: a JSON input must be a list of strings")
        statements = [" ".join(s.split()) for s in loaded]
    else:
        statements = [" ".join(line.split()) for line in text.splitlines()]
    statements = [s for s in statements if s]
    if not statements:
        raise InputError(f"{name}: no statements to check")
    if len(statements) > MAX_STATEMENTS:
        raise InputError(f"{name}: {len(statements)} statements; at most {MAX_STATEMENTS} a run")
    return statements


def read_statements(location: str) -> list[str]:
    """Statements from a file, or from stdin for ``-``."""
    if location == "-":
        return parse_statements(sys.stdin.buffer.read(), "<stdin>")
    path = Path(location)
    if not path.is_file():
        raise InputError(f"{location}: no such file")
    return parse_statements(path.read_bytes(), location)
