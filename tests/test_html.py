"""The HTML report: every claim and finding highlighted in the article text, self-contained,
readable without JavaScript, and rendered by a real browser (headless Chromium)."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.report import segments, to_html
from schemas.report import ArticleReport
from tests.conftest import EXAMPLES, ROOT

REPORTS = sorted(EXAMPLES.glob("*.json"))
ARTIFACTS = ROOT / "build" / "test-artifacts"


class Marks(HTMLParser):
    """Collects the claim and finding numbers of every <mark>, and any script or remote asset."""

    def __init__(self) -> None:
        super().__init__()
        self.claims: set[int] = set()
        self.findings: set[int] = set()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "mark":
            self.claims |= {int(n) for n in (values.get("data-claim") or "").split()}
            self.findings |= {int(n) for n in (values.get("data-finding") or "").split()}
        if tag == "script":
            self.problems.append("script")
        for name in ("src", "href"):
            link = values.get(name) or ""
            if link.startswith(("http:", "https:", "//")):
                self.problems.append(f"{tag} {name}={link}")


def _marks(html: str) -> Marks:
    parser = Marks()
    parser.feed(html)
    return parser


def test_segments_cut_the_text_where_marks_begin_and_end_and_lose_nothing() -> None:
    text = "The mayor said the plan was a “disaster” for the town."
    marks = [("claim", 1, "The mayor said the plan"), ("finding", 1, 'a "disaster"')]
    parts = segments(text, marks)
    assert "".join(p.text for p in parts) == text
    assert [(p.text, p.claims, p.findings) for p in parts if p.claims or p.findings] == [
        ("The mayor said the plan", [1], []),
        ("a “disaster”", [], [1]),
    ]


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_every_claim_and_finding_is_highlighted_and_the_page_is_self_contained(
    path: Path,
) -> None:
    report = ArticleReport.model_validate_json(path.read_text(encoding="utf-8"))
    page = _marks(to_html(report))
    assert page.claims == {c.number for c in report.claims}
    assert page.findings == set(range(1, len(report.bias.findings) + 1))
    assert page.problems == []


def test_the_committed_html_examples_are_current() -> None:
    for path in REPORTS:
        report = ArticleReport.model_validate_json(path.read_text(encoding="utf-8"))
        assert path.with_suffix(".html").read_text(encoding="utf-8") == to_html(report)


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CI_REQUIRE_BROWSER"):
        pytest.fail("CI_REQUIRE_BROWSER is set but no chromium is installed")
    return found


def render_in_browser(html: str, tmp_path: Path, name: str, height: int) -> str:
    """The DOM headless Chromium builds from ``html``; its screenshot goes to ARTIFACTS/name.

    Skips where no chromium is installed (CI installs it and requires this)."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium here (.ci/run installs Debian's chromium)")
    page = tmp_path / f"{Path(name).stem}.html"
    page.write_text(html, encoding="utf-8")
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / name
    shot.unlink(missing_ok=True)
    subprocess.run(
        [*flags, f"--window-size=1280,{height}", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert shot.stat().st_size > 50_000  # a drawn page, not a blank one
    return dom.stdout


def test_a_real_browser_renders_the_highlights(tmp_path: Path) -> None:
    report = ArticleReport.model_validate_json((EXAMPLES / "004_b2d0903adc2ffcae.json").read_text())
    rendered = _marks(render_in_browser(to_html(report), tmp_path, "report-004.png", 1800))
    assert rendered.claims == {c.number for c in report.claims}
    assert rendered.findings == set(range(1, len(report.bias.findings) + 1))
