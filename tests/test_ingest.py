"""Reading input: files, stdin-like records, encodings, and clear errors naming the input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.core.errors import InputError
from pipeline.text.ingest import read_document


def test_url_is_refused_clearly() -> None:
    with pytest.raises(InputError, match="fetching URLs is out of scope"):
        read_document("https://example.com/story")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty input"),
        (b"  \n\t \n", "only whitespace"),
        (b"\x00\x01\x02binary", "binary data"),
    ],
)
def test_unreadable_files_name_the_file_and_problem(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(InputError, match=rf"bad\.txt: {problem}"):
        read_document(str(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_document(str(tmp_path / "nope.txt"))


def test_non_utf8_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    text = (
        "Le ministre a déclaré que la réunion était très importante pour l'été prochain. "
        "Les élèves ont réagi à la décision du gouvernement avec inquiétude, et les syndicats "
        "préparent déjà une grève générale pour la rentrée."
    )
    path.write_bytes(text.encode("cp1252"))
    assert read_document(str(path)).content == text


def test_json_record(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"id": "r1", "title": "T", "html": "<p>x</p>", "url": "u"}))
    doc = read_document(str(path))
    assert (doc.id, doc.kind, doc.title, doc.url) == ("r1", "html", "T", "u")


def test_json_record_without_text_or_html(tmp_path: Path) -> None:
    path = tmp_path / "rec.json"
    path.write_text(json.dumps({"id": "r2", "title": "only a title"}))
    with pytest.raises(InputError, match=r"rec\.json: record has neither 'text' nor 'html'"):
        read_document(str(path))


def test_html_is_detected_by_content(tmp_path: Path) -> None:
    path = tmp_path / "page.txt"
    path.write_text("<html><body><p>Hello</p></body></html>")
    assert read_document(str(path)).kind == "html"
