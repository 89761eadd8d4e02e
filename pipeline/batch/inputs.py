"""Reading a batch's inputs: JSONL records, whole .txt/.html/.json files, Parquet rows.

Inputs are read lazily, one at a time, so a large input never sits in memory at once; an input
that cannot be read becomes an item carrying its error, never an exception.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.core.errors import InputError, NewsauditError
from pipeline.text.ingest import RawDocument, decode, from_record, parse_document

FILE_SUFFIXES = {".txt", ".text", ".html", ".htm", ".xhtml", ".json", ".jsonl", ".parquet"}
GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Item:
    """One input: a document to audit, or the input error that stopped it being read."""

    name: str
    doc: RawDocument | None = None
    error: InputError | None = None


def jsonl_item(raw: bytes, path: str, number: int) -> Item | None:
    """Line ``number`` of a JSONL file as an item (None for a blank line)."""
    name = f"{path}:{number}"
    if not raw.strip():
        return None
    try:
        record = json.loads(decode(raw, name))
        if not isinstance(record, dict):
            raise InputError(f"{name}: a JSONL line must be one object (an article record)")
    except json.JSONDecodeError as exc:
        return Item(name, error=InputError(f"{name}: invalid JSON: {exc.msg}"))
    except InputError as exc:
        return Item(name, error=exc)
    ident = record.get("id") or f"{Path(path).stem}-{number}"
    return record_item({"source": path, **record, "id": ident}, name)


def record_item(record: dict[str, Any], name: str) -> Item:
    """An article record (a Parquet row) as an item."""
    try:
        return Item(name, doc=from_record({"source": name, **record}, name))
    except InputError as exc:
        return Item(name, error=exc)


def file_item(data: bytes, path: str) -> Item:
    """A whole .txt/.html/.json file as an item."""
    try:
        return Item(path, doc=parse_document(data, path))
    except InputError as exc:
        return Item(path, error=exc)


def pyarrow_parquet() -> Any:
    """pyarrow.parquet, or a clear error naming the extra to install."""
    try:
        import pyarrow.parquet as parquet
    except ImportError as exc:
        raise NewsauditError("Parquet needs pyarrow: pip install 'newsaudit[parquet]'") from exc
    return parquet


def _parquet_items(path: Path) -> Iterator[Item]:
    number = 0
    for batch in pyarrow_parquet().ParquetFile(path).iter_batches():
        for record in batch.to_pylist():
            number += 1
            yield record_item(record, f"{path}:{number}")


def _jsonl_items(path: Path) -> Iterator[Item]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            item = jsonl_item(raw, str(path), number)
            if item is not None:
                yield item


def _file_items(path: Path) -> Iterator[Item]:
    if path.suffix.lower() == ".jsonl":
        yield from _jsonl_items(path)
        return
    if path.suffix.lower() == ".parquet":
        yield from _parquet_items(path)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Item(str(path), error=InputError(f"{path}: unreadable: {exc.strerror}"))
        return
    yield file_item(data, str(path))


def input_paths(location: str) -> list[Path]:
    """The files of an input location: a file, a directory (recursively) or a glob."""
    if GLOB_CHARS & set(location):
        return sorted(Path(p) for p in glob.glob(location, recursive=True) if Path(p).is_file())
    path = Path(location)
    if path.is_dir():
        return sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FILE_SUFFIXES
        )
    if path.is_file():
        return [path]
    raise InputError(f"{location}: no such file, directory or matching glob")


def iter_inputs(location: str) -> Iterator[Item]:
    """Every article of an input location, lazily; unreadable ones come as error items."""
    for path in input_paths(location):
        yield from _file_items(path)


def count_inputs(location: str) -> int:
    """How many items ``iter_inputs`` will yield (JSONL lines counted without parsing)."""
    total = 0
    for path in input_paths(location):
        if path.suffix.lower() == ".jsonl":
            with path.open("rb") as handle:
                total += sum(1 for line in handle if line.strip())
        elif path.suffix.lower() == ".parquet":
            total += pyarrow_parquet().ParquetFile(path).metadata.num_rows
        else:
            total += 1
    return total
