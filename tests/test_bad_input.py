"""Bad input in a batch: each bad file becomes one error record naming it and the problem,
and the good files beside it (including other encodings and languages) still get reports."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.batch import BatchRun
from pipeline.cli.main import app
from pipeline.core.config import BatchSettings, Settings
from tests.fake_server import FakeServer

GERMAN = (
    "Stadtrat erhöht Wasserpreise\n\n"
    "Der Stadtrat hat am Dienstag mit großer Mehrheit beschlossen, die Wasserpreise im Juli "
    "um achtzehn Prozent zu erhöhen. Kämmerer Max Ortmann sagte, die Leitungen seien älter "
    "als achtzig Jahre."
)
CP1252 = (
    "Café owners protest new tax\n\n"
    "Owners of cafés in the old town said on Monday that the new terrace tax would cost them "
    "“thousands of euros” a year, according to their association."
).encode("cp1252")

BAD = {
    "empty.txt": (b"", "empty input"),
    "blank.txt": (b"  \n\t \n", "only whitespace"),
    "binary.txt": (b"\x00\x01\x02PNG\x00" * 20, "binary data"),
    "nobody.html": (
        b"<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>",
        "HTML page has no article body",
    ),
    "record.json": (json.dumps({"id": "r1", "title": "Only a title"}).encode(), "neither"),
    "headline.txt": (b"Council Raises Water Prices\n", "a title but no body"),
    "broken.json": (b'{"id": "r2", "text": ', "invalid JSON"),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    source = tmp_path / "in"
    source.mkdir()
    for name, (data, _) in BAD.items():
        (source / name).write_bytes(data)
    (source / "german.txt").write_text(GERMAN, encoding="utf-8")
    (source / "cafe.txt").write_bytes(CP1252)
    return source


def test_each_bad_input_is_one_named_error_and_the_rest_run(tmp_path: Path, folder: Path) -> None:
    fake = FakeServer()
    with fake.running():
        settings = Settings(
            model="openai/fake-model",
            api_base=fake.base_url,
            retry_attempts=1,
            batch=BatchSettings(concurrency=2),
        )
        stats = asyncio.run(BatchRun(settings, str(folder), tmp_path / "out").run())
    errors = {
        Path(e["input"]).name: e
        for e in map(json.loads, (tmp_path / "out" / "errors.jsonl").read_text().splitlines())
    }
    assert sorted(errors) == sorted(BAD)
    for name, (_, problem) in BAD.items():
        assert errors[name]["error_type"] == "input_error"
        assert problem in errors[name]["message"] and name in errors[name]["message"]
    reports = {
        r["id"]: r["report"]
        for r in map(json.loads, (tmp_path / "out" / "reports.jsonl").read_text().splitlines())
    }
    assert sorted(reports) == ["cafe", "german"] and stats.done == 2
    assert reports["german"]["article"]["language"] == "de"
    assert "“thousands of euros”" in reports["cafe"]["article"]["paragraphs"][0]


@pytest.mark.parametrize("name", sorted(BAD))
def test_the_cli_gives_one_line_naming_the_file_and_the_problem(folder: Path, name: str) -> None:
    result = CliRunner().invoke(
        app,
        ["check", str(folder / name), "--model", "openai/x", "--api-base", "http://127.0.0.1:9/v1"],
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and BAD[name][1] in lines[0]
