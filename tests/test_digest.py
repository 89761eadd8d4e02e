"""`newsaudit digest`: the figures against hand-computed ones on small hand-built histories,
the honest empty, one-night, one-article and failures-only cases, the filters and exit codes,
the three formats carrying the same figures, and the page in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.digest.queries import Digest, TrendPoint, collect, open_history
from pipeline.digest.render import score, share
from tests.conftest import ROOT
from tests.history_helpers import (
    ONE_ARTICLE_SOURCE,
    SOURCES,
    Art,
    HistoryBuilder,
    create_history,
    demo_history,
)

runner = CliRunner()
ARTIFACTS = ROOT / "build" / "test-artifacts"
N1, N2, N3 = date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3)


def small_history(path: Path) -> Path:
    """Two nights, two sources, a rerun; the figures in test_the_trend_* are worked out by
    hand from these rows."""
    h = HistoryBuilder(path)
    h.add_run(
        N1,
        [
            Art("a.com", 0.10, sentences=10, words=200, strong=1, framing_per_100=1.0),
            Art("a.com", 0.30, sentences=30, words=600, strong=2, framing_per_100=3.0),
            Art("b.org", 0.60, sentences=20, words=400, strong=4, framing_per_100=2.0),
        ],
        errors=[("feed:9", "provider_error")],
    )
    h.add_run(
        N2,
        [
            Art("a.com", 0.20, sentences=10, words=100, strong=0, framing_per_100=4.0),
            Art("b.org", 0.50, sentences=10, words=300, strong=1, framing_per_100=1.0),
            Art("b.org", 0.70, sentences=30, words=100, strong=3, framing_per_100=5.0, key="b3"),
        ],
    )
    # a later run of the same night reports b3 again, with another score: this row counts
    h.add_run(
        N2,
        [Art("b.org", 0.90, sentences=30, words=100, strong=3, framing_per_100=5.0, key="b3")],
        tokens=(500, 50),
    )
    return h.close()


def _collect(db: Path, **kwargs: Any) -> Digest:
    with open_history(db) as con:
        return collect(con, history=str(db), **kwargs)


def _digest(db: Path, out: Path, *args: str) -> Any:
    return runner.invoke(app, ["digest", "--db", str(db), "--out", str(out), *args])


def _json(out: Path) -> dict[str, Any]:
    return json.loads((out / "digest.json").read_text(encoding="utf-8"))


def test_the_trend_per_source_matches_the_figures_worked_out_by_hand(tmp_path: Path) -> None:
    d = _collect(small_history(tmp_path / "h.duckdb"))
    assert d.night == N2 and d.nights == [N1, N2]
    trends = {t.source: t.points for t in d.trends}
    # a.com, night 1: mean (0.1 + 0.3) / 2; strong 3 of 40 sentences; framing per 100 words
    # weighted by words: (1.0 x 200 + 3.0 x 600) / 800
    # b.org, night 2: b3 counted once, from the later run: (0.5 + 0.9) / 2; (1 + 3) / 40;
    # (1.0 x 300 + 5.0 x 100) / 400
    expected = {
        "a.com": [TrendPoint(N1, 2, 0.2, 0.075, 2.5), TrendPoint(N2, 1, 0.2, 0.0, 4.0)],
        "b.org": [TrendPoint(N1, 1, 0.6, 0.2, 2.0), TrendPoint(N2, 2, 0.7, 0.1, 2.0)],
    }
    assert trends.keys() == expected.keys()
    for source, points in expected.items():
        for got, want in zip(trends[source], points, strict=True):
            assert (got.night, got.articles) == (want.night, want.articles)
            values = (got.slant, got.strong_share, got.framing)
            assert values == pytest.approx((want.slant, want.strong_share, want.framing))
    assert d.articles == 3 and d.per_source == {"a.com": 1, "b.org": 2}
    # tonight's two runs are added; the figures per source compare with the night before
    assert (d.runs.runs, d.runs.prompt_tokens, d.runs.completion_tokens) == (2, 1500, 250)
    assert d.changes.previous_night == N1 and d.changes.previous.errors == {"provider_error": 1}
    b_org = next(c for c in d.changes.sources if c.source == "b.org")
    assert b_org.previous is not None and b_org.tonight is not None
    assert b_org.tonight.slant - b_org.previous.slant == pytest.approx(0.1)


def test_the_trend_table_shows_the_hand_computed_figures(tmp_path: Path) -> None:
    out = tmp_path / "digest"
    result = _digest(small_history(tmp_path / "h.duckdb"), out)
    assert result.exit_code == 0, result.output
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    assert "| a.com | 2024-05-01 | 2 | 0.20 | 7.5% | 2.50 |" in markdown
    assert "| b.org | 2024-05-02 | 2 | 0.70 | 10.0% | 2.00 |" in markdown
    assert "| b.org | 1 | 2 | 0.60 | 0.70 | +0.10 | 20.0% | 10.0% | 2.00 | 2.00 |" in markdown
    assert "2 runs on this night: their counts are added." in markdown
    assert (out / "charts" / "trend.svg").is_file()


def test_an_empty_history_gives_a_page_that_says_so(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    create_history(db).close()
    out = tmp_path / "digest"
    result = _digest(db, out)
    assert result.exit_code == 0, result.output
    data = _json(out)
    assert data["night"] is None and data["articles"] == 0 and data["trends"] == []
    assert "no runs yet" in data["notes"][0]
    for name in ("digest.html", "digest.md"):
        text = (out / name).read_text(encoding="utf-8")
        assert "no runs yet" in text and "newsaudit history add" in text
    assert "<svg" not in (out / "digest.html").read_text(encoding="utf-8")
    assert not (out / "charts").exists()


def test_one_night_draws_no_trend_line_and_says_why(tmp_path: Path) -> None:
    h = HistoryBuilder(tmp_path / "h.duckdb")
    h.add_run(N1, [Art("a.com", s) for s in (0.1, 0.2, 0.3, 0.4, 0.5)] + [Art("b.org", 0.6)])
    out = tmp_path / "digest"
    assert _digest(h.close(), out).exit_code == 0
    html = (out / "digest.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 1 and 'aria-label="Slant scores per source tonight"' in html
    assert not (out / "charts" / "trend.svg").exists()
    note = "Only one night (2024-05-01) in the last 30 days: no trend yet"
    assert note in html and note in (out / "digest.md").read_text(encoding="utf-8")
    assert _json(out)["section_notes"]["trend"][0].startswith(note)
    assert "No earlier night in the history to compare with." in html


def test_the_days_window_can_leave_a_single_night(tmp_path: Path) -> None:
    out = tmp_path / "digest"
    assert _digest(small_history(tmp_path / "h.duckdb"), out, "--days", "1").exit_code == 0
    data = _json(out)
    assert data["nights"] == ["2024-05-02"] and data["window_start"] == "2024-05-02"
    assert "no trend yet" in data["section_notes"]["trend"][0]
    assert data["changes"]["previous_night"] == "2024-05-01"  # still compared


def test_a_source_with_one_article_shows_its_score_without_quartiles(tmp_path: Path) -> None:
    h = HistoryBuilder(tmp_path / "h.duckdb")
    h.add_run(N1, [Art("a.com", s) for s in (0.1, 0.2)])
    h.add_run(N2, [Art("a.com", s) for s in (0.1, 0.2, 0.3, 0.4, 0.5)] + [Art("solo.net", 0.42)])
    out = tmp_path / "digest"
    assert _digest(h.close(), out).exit_code == 0
    data = _json(out)
    solo, a_com = data["distributions"][1], data["distributions"][0]
    assert solo["source"] == "solo.net" and solo["articles"] == 1
    assert (solo["q1"], solo["median"], solo["q3"], solo["scores"]) == (None, 0.42, None, [0.42])
    assert (a_com["q1"], a_com["median"], a_com["q3"]) == pytest.approx((0.2, 0.3, 0.4))
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    assert "| solo.net | 1 | 0.42 | — | 0.42 | — | 0.42 | 0.42 | 0 | 1 | 0 |" in markdown
    assert "each score is a dot and there are no quartiles: solo.net (1)." in markdown
    assert "solo.net: articles on one night only (2024-05-02, 1 article): no trend line" in (
        markdown
    )
    svg = (out / "charts" / "trend.svg").read_text(encoding="utf-8")
    assert "a.com" in svg and "solo.net" not in svg


def test_source_filters_the_digest(tmp_path: Path) -> None:
    db = small_history(tmp_path / "h.duckdb")
    out = tmp_path / "digest"
    assert _digest(db, out, "--source", "b.org").exit_code == 0
    data = _json(out)
    assert data["selected"] == ["b.org"] and data["per_source"] == {"b.org": 2}
    assert [t["source"] for t in data["trends"]] == ["b.org"]
    assert {a["source"] for a in data["slanted"]} == {"b.org"}
    assert "a.com" not in (out / "digest.md").read_text(encoding="utf-8")
    assert "the articles are those of the selected sources" in data["section_notes"]["tonight"][0]
    assert _digest(db, out, "--source", "a.com,b.org").exit_code == 0
    assert _json(out)["per_source"] == {"a.com": 1, "b.org": 2}


def test_an_unknown_source_exits_2_naming_the_known_ones(tmp_path: Path) -> None:
    db = small_history(tmp_path / "h.duckdb")
    result = _digest(db, tmp_path / "digest", "--source", "a.con")
    assert result.exit_code == 2
    assert "unknown source 'a.con' (did you mean a.com?)" in result.stderr
    assert "its sources: a.com, b.org" in result.stderr
    assert not (tmp_path / "digest").exists()


def test_a_missing_or_foreign_database_exits_2(tmp_path: Path) -> None:
    result = _digest(tmp_path / "none.duckdb", tmp_path / "digest")
    assert result.exit_code == 2 and "no such history database" in result.stderr
    other = tmp_path / "other.duckdb"
    import duckdb

    duckdb.connect(str(other)).execute("CREATE TABLE t (x INT)").close()
    result = _digest(other, tmp_path / "digest")
    assert result.exit_code == 2 and "not a newsaudit history" in result.stderr


def test_a_night_without_a_run_exits_2_with_the_nights_there_are(tmp_path: Path) -> None:
    result = _digest(small_history(tmp_path / "h.duckdb"), tmp_path / "d", "--night", "2024-06-01")
    assert result.exit_code == 2
    assert "no run on 2024-06-01" in result.stderr
    assert "from 2024-05-01 to 2024-05-02" in result.stderr
    result = _digest(tmp_path / "h.duckdb", tmp_path / "d", "--night", "June")
    assert result.exit_code == 2 and "not a date" in result.output


def test_a_night_of_only_failures_shows_them_and_says_no_article(tmp_path: Path) -> None:
    db = small_history(tmp_path / "h.duckdb")
    import duckdb

    con = duckdb.connect(str(db))
    con.execute(
        "INSERT INTO runs VALUES ('run9', '/nowhere', ?, ?, ?, 'm', 'fp', 3, 0, 3, 0, 0, 0.0, "
        "true, now())",
        [N3, "2024-05-03 01:00:00", "2024-05-03 01:05:00"],
    )
    for n, kind in enumerate(["provider_error", "provider_error", "input_error"]):
        con.execute("INSERT INTO errors VALUES ('run9', ?, ?, 'failed')", [f"in:{n}", kind])
    con.close()
    out = tmp_path / "digest"
    result = _digest(db, out)
    assert result.exit_code == 0, result.output
    assert "No article was reported on 2024-05-03: all 3 inputs failed" in result.stderr
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    assert "| Failed | 3 |" in markdown
    assert "| Failed: provider_error | 2 |" in markdown
    assert "| Failed: input_error | 1 |" in markdown
    assert "No articles on this night." in markdown
    data = _json(out)
    assert data["articles"] == 0 and data["changes"]["previous_night"] == "2024-05-02"
    assert "No articles tonight (some on 2024-05-02): a.com, b.org." in markdown
    assert len(data["trends"]) == 2  # the earlier nights still make the trend


class Tables(HTMLParser):
    """Every table of an HTML page as rows of cell texts, and every href and id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_page(path: Path) -> Tables:
    page = Tables()
    page.feed(path.read_text(encoding="utf-8"))
    return page


MD_LINK = re.compile(r"\[([^\]]*)\]\(<([^>]*)>\)")


def markdown_tables(text: str) -> tuple[list[list[list[str]]], list[str]]:
    """Every table of a Markdown page as rows of cell texts (links as their text, the
    alignment row left out), and every link target."""
    tables: list[list[list[str]]] = []
    links = MD_LINK.findall(text)
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            cells = [MD_LINK.sub(r"\1", c).replace("\\|", "|").strip() for c in cells]
            if not all(re.fullmatch(r"-+:?", c) for c in cells):
                tables[-1].append(cells)
        previous = line
    return tables, [target for _text, target in links]


def test_json_markdown_and_html_carry_the_same_figures(tmp_path: Path) -> None:
    out = tmp_path / "digest"
    assert _digest(demo_history(tmp_path), out).exit_code == 0
    page = html_page(out / "digest.html")
    tables, _links = markdown_tables((out / "digest.md").read_text(encoding="utf-8"))
    assert len(page.tables) == 10
    assert tables == page.tables
    data = _json(out)
    by_id = dict(
        zip(
            [
                "tonight",
                "bands",
                "slanted",
                "assertions",
                "distribution",
                "trend",
                "framing",
                "stories",
                "changes",
                "source-changes",
            ],
            page.tables,
            strict=True,
        )
    )
    trend_rows = [
        [
            t["source"],
            p["night"],
            str(p["articles"]),
            score(p["slant"]),
            share(p["strong_share"]),
            score(p["framing"]),
        ]
        for t in data["trends"]
        for p in t["points"]
    ]
    assert by_id["trend"][1:] == trend_rows
    assert [r[1] for r in by_id["slanted"][1:]] == [
        score(a["slant_score"]) for a in data["slanted"]
    ]
    assert [r[1] for r in by_id["assertions"][1:]] == [
        score(a["strength"]) for a in data["assertions"]
    ]
    tonight = dict(r for r in by_id["tonight"][1:])
    assert tonight["Articles in this digest"] == str(data["articles"])
    assert tonight["Failed"] == str(data["runs"]["failed"])
    assert tonight["Prompt tokens"] == f"{data['runs']['prompt_tokens']:,}"
    assert tonight["Cost"] == f"${data['runs']['cost_usd']:,.4f}"
    dist = {r[0]: r for r in by_id["distribution"][1:]}
    for x in data["distributions"]:
        assert dist[x["source"]][1:8:2] == [
            str(x["articles"]),
            score(x["q1"]),
            score(x["q3"]),
            score(x["mean"]),
        ]
    stories = {r[0]: r for r in by_id["stories"][1:]}
    for s in data["stories"]:
        assert stories[s["story"]][2] == (", ".join(s["left_out"]) or "—")


def test_every_link_of_the_pages_resolves(tmp_path: Path) -> None:
    out = tmp_path / "digest"
    result = _digest(demo_history(tmp_path), out)
    assert result.exit_code == 0
    page = html_page(out / "digest.html")
    reports = [h for h in page.hrefs if h.startswith("reports/")]
    assert len(reports) >= 10 and all(".html" in h for h in reports)
    assert any(h.startswith("../runs/") and h.endswith("story.html") for h in page.hrefs)
    for href in page.hrefs:
        target, _, anchor = href.partition("#")
        if not target:
            assert anchor in page.ids, href
            continue
        assert (out / target).is_file(), href
        if anchor:
            assert f'id="{anchor}"' in (out / target).read_text(encoding="utf-8"), href
    _tables, links = markdown_tables((out / "digest.md").read_text(encoding="utf-8"))
    assert links and all((out / link).is_file() for link in links)
    assert {link for link in links if link.startswith("reports/")} == {
        h.split("#")[0].replace(".html", ".md") for h in reports
    }
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (out / "digest.md").read_text()):
        assert (out / image).is_file()


def test_an_unreachable_report_links_its_runs_reports_file_or_nothing(tmp_path: Path) -> None:
    h = HistoryBuilder(tmp_path / "h.duckdb")
    run_dir = tmp_path / "runs" / "n1"
    beyond = [(99, 0.8, "A sentence number the report does not have.")]
    h.add_run(N1, [Art("a.com", 0.4, assertions=beyond), Art("a.com", 0.6)], run_dir=run_dir)
    # the second line is not the report the history names
    lines = (run_dir / "reports.jsonl").read_text(encoding="utf-8").splitlines()
    (run_dir / "reports.jsonl").write_text(lines[0] + "\n" + lines[0] + "\n", encoding="utf-8")
    h.add_run(N2, [Art("b.org", 0.3)])  # its run folder does not exist
    out = tmp_path / "digest"
    assert _digest(h.close(), out, "--night", "2024-05-01").exit_code == 0
    slanted = _json(out)["slanted"]
    assert slanted[0]["report"] is None
    assert slanted[0]["jsonl"] == "../runs/n1/reports.jsonl"
    assert slanted[1]["report"] == "reports/run1-k1"
    assert "a.com article 2 (reports.jsonl line 2)" in (out / "digest.md").read_text()
    assertion = _json(out)["assertions"][0]
    assert assertion["article"]["report"] == "reports/run1-k1" and assertion["anchor"] is None
    assert 'href="reports/run1-k1.html">' in (out / "digest.html").read_text()
    assert _digest(tmp_path / "h.duckdb", out, "--night", "2024-05-02").exit_code == 0
    assert _json(out)["slanted"][0]["report"] is None and _json(out)["slanted"][0]["jsonl"] is None


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI_REQUIRE_BROWSER"):
            pytest.fail("CI_REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("no chromium here (.ci/run installs Debian's chromium)")
    return found


def _browse(chromium: str, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    flags += ["--enable-logging=stderr", "--v=0"]
    return subprocess.run(
        [*flags, *extra, page.as_uri()], capture_output=True, text=True, timeout=90, check=True
    )


def console_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def test_a_real_browser_renders_the_page_with_its_charts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = _chromium()
    # the console check sees what a broken page logs
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><script>console.error('boom')</script>", encoding="utf-8")
    assert console_errors(_browse(chromium, broken, "--dump-dom").stderr)

    demo_history(tmp_path)
    monkeypatch.chdir(tmp_path)  # the page names the history as given: history.duckdb
    out = tmp_path / "digest"
    assert _digest(Path("history.duckdb"), Path("digest")).exit_code == 0
    page = out / "digest.html"
    assert page.stat().st_size < 3_000_000
    dom = _browse(chromium, page, "--dump-dom")
    assert console_errors(dom.stderr) == []
    assert dom.stdout.count("<svg") == 2
    for label in ("Slant scores per source tonight", "Per-source figures over the nights"):
        assert f'aria-label="{label}"' in dom.stdout
    for source in [*SOURCES, ONE_ARTICLE_SOURCE]:
        assert source in dom.stdout
    assert "<script" not in page.read_text(encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "digest.png"
    shot.unlink(missing_ok=True)
    screenshot = _browse(chromium, page, "--window-size=1280,2800", f"--screenshot={shot}")
    assert console_errors(screenshot.stderr) == []
    assert shot.stat().st_size > 50_000  # a drawn page, not a blank one
