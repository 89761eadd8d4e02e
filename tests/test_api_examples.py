"""The Python examples of the README and the docs pages, and the docstring examples of
``newsaudit``, run as written.

Each runs against the fake server (chosen through NEWSAUDIT_MODEL and NEWSAUDIT_API_BASE,
as a user's environment would choose a model), in a folder holding the files the examples
name: article.txt, articles/, a batch's runs/nightly/reports.jsonl and history.duckdb (that
batch loaded by `newsaudit history add`).
"""

from __future__ import annotations

import doctest
import json
import os
import re
from pathlib import Path

import pytest

import newsaudit
import newsaudit.api
import newsaudit.auditor
import newsaudit.frames
import newsaudit.nightly
from pipeline.history import add_runs
from tests.conftest import ROOT
from tests.fake_server import PARAGRAPH, FakeServer
from tests.test_frames import report_from

README = ROOT / "README.md"
API_PAGE = ROOT / "docs" / "api.md"
PAGES = [README, *sorted((ROOT / "docs").glob("**/*.md"))]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
MODULES = [newsaudit, newsaudit.api, newsaudit.auditor, newsaudit.frames, newsaudit.nightly]


def python_blocks() -> list[tuple[Path, int, str]]:
    """(page, first line number, code) of every ```python block of the README and docs/."""
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in PYTHON_BLOCK.finditer(text):
            blocks.append((page, text.count("\n", 0, m.start(1)) + 1, m.group(1)))
    return blocks


def docstring_examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder()
    return [test for module in MODULES for test in finder.find(module) if test.examples]


def _article(town: str, n: int) -> str:
    return f"{town} approves budget\n\n" + PARAGRAPH.format(town=town, n=n) + "\n"


@pytest.fixture
def sandbox(tmp_path: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "article.txt").write_text(_article("Council", 5), encoding="utf-8")
    (tmp_path / "articles").mkdir()
    for n, town in enumerate(("council", "harbour")):
        (tmp_path / "articles" / f"{town}.txt").write_text(_article(town.title(), n + 2))
    runs = tmp_path / "runs" / "nightly"
    runs.mkdir(parents=True)
    reports = [report_from("Daily Planet", "p1"), report_from("The Bugle", "b1")]
    lines = [
        {"key": r.article.id, "id": r.article.id, "report": r.model_dump(mode="json")}
        for r in reports
    ]
    (runs / "reports.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    add_runs(tmp_path / "history.duckdb", [runs])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSAUDIT_CONFIG", os.devnull)
    monkeypatch.setenv("NEWSAUDIT_MODEL", "openai/fake-model")
    monkeypatch.setenv("NEWSAUDIT_API_BASE", server.base_url)
    return tmp_path


def test_the_notebook_example_is_five_lines() -> None:
    first = PYTHON_BLOCK.search(API_PAGE.read_text(encoding="utf-8"))
    assert first is not None
    assert len([line for line in first.group(1).splitlines() if line.strip()]) <= 5


def test_the_api_page_has_examples() -> None:
    assert any(page == API_PAGE for page, _, _ in python_blocks())


@pytest.mark.parametrize(
    ("page", "line", "code"),
    [
        pytest.param(*block, id=f"{block[0].relative_to(ROOT)}:{block[1]}")
        for block in python_blocks()
    ],
)
def test_python_examples_run(sandbox: Path, page: Path, line: int, code: str) -> None:
    compiled = compile("\n" * (line - 1) + code, str(page), "exec")
    exec(compiled, {"__name__": "__readme__"})


@pytest.mark.parametrize("example", docstring_examples(), ids=lambda t: t.name)
def test_docstring_examples_run(sandbox: Path, example: doctest.DocTest) -> None:
    output: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(example, out=output.append, clear_globs=True)
    assert result.failed == 0, "".join(output)
