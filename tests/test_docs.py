"""The README stays short and its links, and those of docs/, point at files that exist.

``mkdocs build --strict`` (in the test command) checks the links between docs pages and their
anchors; the README is not part of the site, so its links to the pages are checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("**/*.md"))]
MAX_README_CHARS = 12_000

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target), with an optional "title".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:...
TEST_COMMAND = re.compile(r"<!-- test-command -->\n```bash\n(.+)\n```")


def relative_links(page: Path) -> list[str]:
    """The relative link targets of a Markdown page, outside code blocks and code spans."""
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    targets = (m.group(1) for m in LINK.finditer(text))
    return [t for t in targets if not EXTERNAL.match(t) and not t.startswith("#")]


def test_the_readme_is_at_most_12000_characters() -> None:
    assert len(README.read_text(encoding="utf-8")) <= MAX_README_CHARS


def test_the_readme_links_to_every_docs_page() -> None:
    linked = {(README.parent / t.split("#")[0]).resolve() for t in relative_links(README)}
    pages = {p.resolve() for p in DOCS.glob("**/*.md")}
    assert pages - linked == set()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files(page: Path) -> None:
    missing = [
        target
        for target in relative_links(page)
        if not (page.parent / target.split("#")[0]).exists()
    ]
    assert missing == [], f"{page.relative_to(ROOT)} links to missing files: {missing}"


def test_the_link_finder_sees_links_and_skips_code() -> None:
    page = ROOT / "build" / "test-artifacts" / "links.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(
        '[a](a.md) ![b](img/b.png "B") [c](https://x.org) [d](#top) `[e](e.md)`\n'
        "```\n[f](f.md)\n```\n[g](g.md#part)\n",
        encoding="utf-8",
    )
    assert relative_links(page) == ["a.md", "img/b.png", "g.md#part"]


def test_the_test_command_is_where_ci_reads_it() -> None:
    """.ci/run takes the line after the marker and its fence; the docs copy matches it."""
    found = TEST_COMMAND.search(README.read_text(encoding="utf-8"))
    assert found is not None
    command = found.group(1)
    assert command.startswith('pip install -c constraints.txt -e ".[dev]" && ')
    assert "mkdocs build --strict" in command and command.endswith("&& pytest")
    assert f"```bash\n{command}\n```" in (DOCS / "getting-started.md").read_text(encoding="utf-8")
