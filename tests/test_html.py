"""The HTML report: every sentence shaded by its label in the article text, every finding
underlined, self-contained, readable without JavaScript, and rendered by a real browser
(headless Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.report import body_pieces, to_html
from schemas.report import ArticleReport
from schemas.sentence import SentenceLabel
from tests.conftest import EXAMPLES, ROOT
from tests.report_fixtures import small_report

REPORTS = sorted(EXAMPLES.glob("*.json"))
ARTIFACTS = ROOT / "build" / "test-artifacts"


class Page(HTMLParser):
    """What a reader of the page gets: the body's paragraphs as text, each sentence span (id,
    classes, title, text), the findings underlined in the article and headline, the links,
    and any script or remote asset."""

    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[str] = []
        self.sentences: dict[int, dict[str, str]] = {}
        self.findings: set[int] = set()
        self.headline_findings: set[int] = set()
        self.ids: set[str] = set()
        self.links: dict[str, list[str]] = {}  # class of the enclosing list -> hrefs, in order
        self.problems: list[str] = []
        self._in: list[str] = []  # open elements that matter: article, h1, p, span.s, lists
        self._sentence: int | None = None
        self._paragraph = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.ids.add(values.get("id", ""))
        if tag in ("article", "h1", "ol", "ul"):
            self._in.append(f"{tag}.{values.get('class', '')}")
        if tag == "p" and "article." in self._in:
            self.paragraphs.append("")
            self._paragraph = True
        if tag == "span" and "s" in values.get("class", "").split():
            self._sentence = int(values["id"].removeprefix("s"))
            self.sentences[self._sentence] = {**values, "text": ""}
        if tag == "mark" and values.get("data-finding"):
            numbers = {int(n) for n in values["data-finding"].split()}
            self.findings |= numbers if "article." in self._in else set()
            self.headline_findings |= numbers if "h1." in self._in else set()
        if tag == "a" and self._in:
            self.links.setdefault(self._in[-1], []).append(values.get("href", ""))
        if tag == "script":
            self.problems.append("script")
        for name in ("src", "href"):
            link = values.get(name, "")
            if link.startswith(("http:", "https:", "//")):
                self.problems.append(f"{tag} {name}={link}")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("article", "h1", "ol", "ul") and self._in:
            self._in.pop()
        if tag == "span":
            self._sentence = None
        if tag == "p":
            self._paragraph = False

    def handle_data(self, data: str) -> None:
        if self._paragraph:
            self.paragraphs[-1] += data
        if self._sentence is not None:
            self.sentences[self._sentence]["text"] += data


def _page(html: str) -> Page:
    parser = Page()
    parser.feed(html)
    return parser


def _check_page(report: ArticleReport, html: str) -> Page:
    """Every invariant a rendered report keeps, whatever the article."""
    page = _page(html)
    assert "\n\n".join(page.paragraphs) == report.article.body
    assert sorted(page.sentences) == [s.id for s in report.sentences]
    for s in report.sentences:
        span = page.sentences[s.id]
        assert span["class"].split() == ["s", f"label-{s.label.value}"]
        assert span["text"] == s.text == report.article.body[s.start : s.end]
        assert span["title"].startswith(f"{s.label.value} · score {s.score:.2f} · ")
    body = {n for n, f in enumerate(report.bias.findings, 1) if f.sentence is not None}
    assert page.findings == body
    assert page.headline_findings == set(range(1, len(report.bias.findings) + 1)) - body
    internal = {h for hrefs in page.links.values() for h in hrefs if h.startswith("#")}
    assert {h[1:] for h in internal} <= page.ids  # every link inside the page lands somewhere
    assert page.problems == []
    assert "<script" not in html.lower() and "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    return page


def test_the_body_is_rendered_sentence_by_sentence_and_reads_exactly_as_the_article() -> None:
    report = small_report()
    page = _check_page(report, to_html(report))
    assert page.sentences[2]["title"] == "opinion · score 0.62 · subjective (P=0.62)"
    assert page.sentences[2]["data-n"] == "2"  # the sentence number marker (CSS ::before)
    assert page.paragraphs[2].endswith("had stalled. — Taxes rose 3% | a record. Background")


def test_every_label_has_a_style_and_a_legend_entry() -> None:
    html = to_html(small_report())
    for label in SentenceLabel:
        assert f".label-{label.value} {{" in html
        assert f'<span class="swatch sw-{label.value}"></span>{label.value}</span>' in html
    for label in ("fact_unsupported", "opinion", "speculation", "attributed_unnamed"):
        assert re.search(rf"\.label-{label} {{[^}}]*border-bottom: 2px solid", html)


def test_findings_are_underlined_within_their_sentence_with_the_rewording_on_hover() -> None:
    html = to_html(small_report())
    assert (
        '<span class="s label-opinion" id="s2" data-n="2" title="opinion · score 0.62 · '
        'subjective (P=0.62)">Critics say it is <mark class="finding" data-finding="1" '
        'title="loaded_language (medium, score 0.66): “Disaster” judges the budget for the '
        'reader. Neutral: Critics say the budget hurts families.">a &lt;disaster&gt;</mark> '
        "for families.</span>"
    ) in html
    assert '<h1>Mayor’s <mark class="finding" data-finding="2"' in html
    assert ">Reckless Plan Will Ruin the Town</mark>!</h1>" in html


def test_a_finding_whose_quote_is_not_in_its_sentence_underlines_the_sentence() -> None:
    report = small_report()
    findings = [f.model_copy(update={"quote": "not there"}) for f in report.bias.findings]
    report.bias = report.bias.model_copy(update={"findings": findings})
    _check_page(report, to_html(report))


def test_the_sidebar_links_bullets_and_unsupported_assertions_to_their_sentences() -> None:
    report = small_report()
    page = _page(to_html(report))
    assert page.links["ul.bullets"] == ["#s1", "#s3", "#s2"]
    assert page.links["ol.unsupported"] == [f"#s{n}" for n in report.unsupported]
    html = to_html(report)
    for label, n in [("fact_unsupported", 1), ("other", 1)]:
        assert f'{label}</th><td class="n">{n}</td>' in html
    assert '<tr><th>Unsupported assertions</th><td class="n">4</td></tr>' in html
    assert ", $0.0012," in html  # the run's cost


def test_text_between_and_around_sentences_is_kept_even_when_offsets_are_odd() -> None:
    report = small_report()
    first, second, *rest = report.sentences
    overlapping = second.model_copy(update={"start": first.end - 3})  # overlaps sentence 1
    report.sentences = [first, overlapping, *rest]
    pieces = body_pieces(report)
    assert ["".join(p.text for p in para) for para in pieces] == report.article.paragraphs
    assert [p.sentence.id for para in pieces for p in para if p.sentence] == [1, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_every_committed_example_keeps_the_page_invariants(path: Path) -> None:
    report = ArticleReport.model_validate_json(path.read_text(encoding="utf-8"))
    _check_page(report, to_html(report))


def test_the_committed_html_examples_are_current() -> None:
    for path in REPORTS:
        report = ArticleReport.model_validate_json(path.read_text(encoding="utf-8"))
        assert path.with_suffix(".html").read_text(encoding="utf-8") == to_html(report)


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CI_REQUIRE_BROWSER"):
        pytest.fail("CI_REQUIRE_BROWSER is set but no chromium is installed")
    return found


def _require_chromium() -> str:
    """The chromium binary; skips where none is installed (CI installs it and requires it)."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium here (.ci/run installs Debian's chromium)")
    return chromium


def render_in_browser(html: str, tmp_path: Path, name: str, height: int) -> str:
    """The DOM headless Chromium builds from ``html``; its screenshot goes to ARTIFACTS/name.

    Skips where no chromium is installed (CI installs it and requires this)."""
    chromium = _require_chromium()
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
    _require_chromium()
    fixture = small_report()
    _check_page(fixture, render_in_browser(to_html(fixture), tmp_path, "report-fixture.png", 900))
    report = ArticleReport.model_validate_json((EXAMPLES / "004_b2d0903adc2ffcae.json").read_text())
    _check_page(report, render_in_browser(to_html(report), tmp_path, "report-004.png", 1800))
