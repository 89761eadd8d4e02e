"""The README's Python examples and the docstring examples of ``newsaudit`` run as written.

Each runs against the fake server (chosen through NEWSAUDIT_MODEL and NEWSAUDIT_API_BASE,
as a user's environment would choose a model), in a folder holding the files the examples
name: article.txt, articles/ and a batch's runs/nightly/reports.jsonl.
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
from tests.conftest import ROOT
from tests.fake_server import PARAGRAPH, FakeServer
from tests.test_frames import report_from

README = ROOT / "README.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
MODULES = [newsaudit, newsaudit.api, newsaudit.auditor, newsaudit.frames]


def readme_blocks() -> list[tuple[int, str]]:
    """(first line number, code) of every ```python block of the README."""
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in PYTHON_BLOCK.finditer(text)]


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
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSAUDIT_CONFIG", os.devnull)
    monkeypatch.setenv("NEWSAUDIT_MODEL", "openai/fake-model")
    monkeypatch.setenv("NEWSAUDIT_API_BASE", server.base_url)
    return tmp_path


def test_the_notebook_example_is_five_lines() -> None:
    section = README.read_text(encoding="utf-8").split("## Python API", 1)[1]
    first = PYTHON_BLOCK.search(section)
    assert first is not None
    assert len([line for line in first.group(1).splitlines() if line.strip()]) <= 5


@pytest.mark.parametrize(
    ("line", "code"),
    [pytest.param(*block, id=f"README.md:{block[0]}") for block in readme_blocks()],
)
def test_readme_python_examples_run(sandbox: Path, line: int, code: str) -> None:
    compiled = compile("\n" * (line - 1) + code, str(README), "exec")
    exec(compiled, {"__name__": "__readme__"})


@pytest.mark.parametrize("example", docstring_examples(), ids=lambda t: t.name)
def test_docstring_examples_run(sandbox: Path, example: doctest.DocTest) -> None:
    output: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(example, out=output.append, clear_globs=True)
    assert result.failed == 0, "".join(output)
