"""The digest as JSON for machines, and as Markdown and a self-contained HTML page for people.

The Markdown and the HTML render the same tables (built once here, cell by cell), so the two
carry the same figures; the JSON holds those figures unformatted.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, select_autoescape

from pipeline.digest.charts import MAX_SOURCES, MAX_TREND_SOURCES, distribution_svg, trend_svg
from pipeline.digest.links import link_stories, write_reports
from pipeline.digest.queries import (
    BANDS,
    TREND_MIN_NIGHTS,
    ArticleRef,
    Digest,
    SourceChange,
    TrendPoint,
)

JSON_FORMAT = "newsaudit.digest/1"
DASH = "—"
CHARTS = {"distribution": "charts/slant-distribution.svg", "trend": "charts/trend.svg"}
MAX_TEXT = 220  # characters of an assertion shown (the report has it whole)


@dataclass
class Link:
    """Where a cell links: the Markdown page links .md reports, the HTML page .html ones."""

    md: str
    html: str


@dataclass
class Cell:
    """One table cell as both pages show it."""

    text: str
    link: Link | None = None
    number: bool = False


@dataclass
class Table:
    """A table of the digest, with its column headers."""

    id: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)

    @property
    def numeric(self) -> list[bool]:
        """Which columns hold numbers (right-aligned), by the first row."""
        return [c.number for c in self.rows[0]] if self.rows else [False] * len(self.header)


def score(x: float | None) -> str:
    return DASH if x is None else f"{x:.2f}"


def share(x: float | None) -> str:
    return DASH if x is None else f"{100 * x:.1f}%"


def count(n: int | None) -> str:
    return DASH if n is None else f"{n:,}"


def money(x: float | None) -> str:
    return "unknown" if x is None else f"${x:,.4f}"


def delta(now: float | None, before: float | None, scale: float = 1.0, digits: int = 2) -> str:
    if now is None or before is None:
        return DASH
    return f"{scale * (now - before):+.{digits}f}"


def _num(text: str) -> Cell:
    return Cell(text, number=True)


def _clip(text: str, width: int = MAX_TEXT) -> str:
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    return text[: width - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _article_cell(ref: ArticleRef, anchor: str | None = None) -> Cell:
    title = _clip(ref.title or ref.article_id or ref.key, 120)
    if ref.report:
        at = f"#{anchor}" if anchor else ""
        return Cell(title, Link(f"{ref.report}.md", f"{ref.report}.html{at}"))
    if ref.jsonl:
        line = f" (reports.jsonl line {ref.report_line})" if ref.report_line is not None else ""
        return Cell(title + line, Link(ref.jsonl, ref.jsonl))
    return Cell(title)


def tonight_table(d: Digest) -> Table:
    r = d.runs
    rows = [
        ["Articles in this digest", count(d.articles)],
        ["Runs", count(r.runs)],
        ["Inputs", count(r.inputs)],
        ["Reported", count(r.succeeded)],
        ["Failed", count(r.failed)],
        *[[f"Failed: {kind}", count(n)] for kind, n in r.errors.items()],
        ["Prompt tokens", count(r.prompt_tokens)],
        ["Completion tokens", count(r.completion_tokens)],
        ["Cost", money(r.cost_usd)],
    ]
    table = Table("tonight", ["figure", "tonight"])
    table.rows = [[Cell(a), _num(b)] for a, b in rows]
    return table


def bands_table(d: Digest) -> Table:
    table = Table("bands", ["slant band", "articles", "share"])
    for band in BANDS:
        n = d.bands.get(band, 0)
        table.rows.append(
            [Cell(band), _num(count(n)), _num(share(n / d.articles) if d.articles else DASH)]
        )
    return table


def slanted_table(d: Digest) -> Table:
    header = ["#", "slant score", "band", "source", "article", "findings", "strong unsupported"]
    table = Table("slanted", header)
    for n, ref in enumerate(d.slanted, start=1):
        table.rows.append(
            [
                _num(str(n)),
                _num(score(ref.slant_score)),
                Cell(ref.slant),
                Cell(ref.source),
                _article_cell(ref),
                _num(count(ref.findings)),
                _num(count(ref.unsupported_strong)),
            ]
        )
    return table


def assertions_table(d: Digest) -> Table:
    table = Table("assertions", ["#", "strength", "source", "article", "sentence", "assertion"])
    for n, a in enumerate(d.assertions, start=1):
        table.rows.append(
            [
                _num(str(n)),
                _num(score(a.strength)),
                Cell(a.article.source),
                _article_cell(a.article, a.anchor),
                _num(f"s{a.sentence}"),
                Cell(_clip(a.text)),
            ]
        )
    return table


def distribution_table(d: Digest) -> Table:
    header = ["source", "articles", "min", "q1", "median", "q3", "max", "mean", *BANDS]
    table = Table("distribution", header)
    for x in d.distributions:
        figures = [x.minimum, x.q1, x.median, x.q3, x.maximum, x.mean]
        table.rows.append(
            [
                Cell(x.source),
                _num(count(x.articles)),
                *[_num(score(v)) for v in figures],
                *[_num(count(x.bands[b])) for b in BANDS],
            ]
        )
    return table


def trend_table(d: Digest) -> Table:
    header = [
        "source",
        "night",
        "articles",
        "mean slant",
        "strong unsupported (% of sentences)",
        "framing per 100 words",
    ]
    table = Table("trend", header)
    for t in d.trends:
        for p in t.points:
            table.rows.append(
                [
                    Cell(t.source),
                    Cell(p.night.isoformat()),
                    _num(count(p.articles)),
                    _num(score(p.slant)),
                    _num(share(p.strong_share)),
                    _num(score(p.framing)),
                ]
            )
    return table


def framing_table(d: Digest) -> Table:
    table = Table("framing", ["source", "articles", "framing phrases most used (uses, articles)"])
    for f in d.framing:
        words = "; ".join(f"{w.words} ({w.uses}, {w.articles})" for w in f.words)
        table.rows.append([Cell(f.source), _num(count(f.articles)), Cell(words or DASH)])
    return table


def stories_table(d: Digest) -> Table:
    table = Table("stories", ["story", "covered by (articles)", "left out by"])
    for s in d.stories:
        covered = ", ".join(f"{src} ({n})" for src, n in s.covered.items())
        link = Link(s.link, s.link) if s.link else None
        table.rows.append([Cell(s.story, link), Cell(covered), Cell(", ".join(s.left_out) or DASH)])
    return table


def changes_table(d: Digest) -> Table:
    c = d.changes
    table = Table("changes", ["figure", "previous night", "tonight", "change"])
    strong = BANDS[-1]
    pairs: list[tuple[str, float | None, float | None, bool]] = [
        ("Articles in this digest", c.previous_articles, d.articles, True),
        ("Inputs", c.previous.inputs, d.runs.inputs, True),
        ("Failed", c.previous.failed, d.runs.failed, True),
        (
            "Tokens",
            c.previous.prompt_tokens + c.previous.completion_tokens,
            d.runs.prompt_tokens + d.runs.completion_tokens,
            True,
        ),
        (
            "Strongly slanted articles",
            c.previous_bands.get(strong, 0),
            d.bands.get(strong, 0),
            True,
        ),
        ("Cost", c.previous.cost_usd, d.runs.cost_usd, False),
    ]
    for name, before, now, whole in pairs:
        if whole:
            cells = [count(_int(before)), count(_int(now)), delta(now, before, digits=0)]
        else:
            cells = [money(before), money(now), delta(now, before, digits=4)]
        table.rows.append([Cell(name), *[_num(x) for x in cells]])
    return table


def _int(x: float | None) -> int | None:
    return None if x is None else int(x)


def source_changes_table(d: Digest) -> Table:
    header = [
        "source",
        "articles before",
        "articles tonight",
        "mean slant before",
        "tonight",
        "change",
        "strong unsupported before",
        "tonight",
        "framing per 100 words before",
        "tonight",
    ]
    table = Table("source-changes", header)

    def get(p: TrendPoint | None, what: str) -> Any:
        return None if p is None else getattr(p, what)

    def moved(s: SourceChange) -> tuple[int, float, str]:
        a, b = get(s.tonight, "slant"), get(s.previous, "slant")
        return (0, -abs(a - b), s.source) if a is not None and b is not None else (1, 0, s.source)

    for s in sorted(d.changes.sources, key=moved):
        before, now = s.previous, s.tonight
        table.rows.append(
            [
                Cell(s.source),
                _num(count(get(before, "articles"))),
                _num(count(get(now, "articles"))),
                _num(score(get(before, "slant"))),
                _num(score(get(now, "slant"))),
                _num(delta(get(now, "slant"), get(before, "slant"))),
                _num(share(get(before, "strong_share"))),
                _num(share(get(now, "strong_share"))),
                _num(score(get(before, "framing"))),
                _num(score(get(now, "framing"))),
            ]
        )
    return table


def tables(d: Digest) -> dict[str, Table]:
    """Every table of the digest, as both pages render them."""
    made = [
        tonight_table(d),
        bands_table(d),
        slanted_table(d),
        assertions_table(d),
        distribution_table(d),
        trend_table(d),
        framing_table(d),
        stories_table(d),
        changes_table(d),
        source_changes_table(d),
    ]
    return {t.id: t for t in made}


def section_notes(d: Digest) -> dict[str, list[str]]:
    """What each section must say besides its table: empty lists, too few points, limits."""
    notes: dict[str, list[str]] = {k: [] for k in ("tonight", "distribution", "trend", "stories")}
    notes |= {"framing": [], "changes": [], "slanted": [], "assertions": []}
    if d.night is None:
        return notes
    if len(d.distributions) > MAX_SOURCES:
        notes["distribution"].append(
            f"The chart shows the {MAX_SOURCES} sources with the most articles of "
            f"{len(d.distributions)}; the table has them all."
        )
    if d.selected:
        notes["tonight"].append(
            "The runs' counts, failures, tokens and cost cover every source (an error record "
            "names no source); the articles are those of the selected sources."
        )
    if d.runs.runs > 1:
        notes["tonight"].append(f"{d.runs.runs} runs on this night: their counts are added.")
    if d.runs.cost_unknown_runs:
        notes["tonight"].append(
            f"{d.runs.cost_unknown_runs} run(s) did not know the model's price; the cost leaves "
            "them out."
        )
    if not d.articles:
        for key in ("slanted", "assertions", "distribution", "framing", "stories"):
            notes[key].append("No articles on this night.")
    else:
        if not d.assertions:
            notes["assertions"].append("No strong unsupported assertion on this night.")
        few = [x for x in d.distributions if x.scores is not None]
        if few:
            names = ", ".join(f"{x.source} ({x.articles})" for x in few)
            notes["distribution"].append(
                f"Fewer than 5 articles, so each score is a dot and there are no quartiles: "
                f"{names}."
            )
        if not d.stories:
            notes["stories"].append("No article of this night names a story.")
        elif d.stories_total > len(d.stories):
            notes["stories"].append(
                f"The {len(d.stories)} stories with the most sources of {d.stories_total}; "
                f"{d.stories_single_source} stories had one source only."
            )
    if len(d.nights) < TREND_MIN_NIGHTS:
        notes["trend"].append(
            f"Only one night ({d.night}) in the last {d.days} days: no trend yet, a line needs "
            "two nights. The night's figures are in the table."
        )
    else:
        single = [t for t in d.trends if len(t.points) < TREND_MIN_NIGHTS]
        for t in single:
            p = t.points[0]
            n = "article" if p.articles == 1 else "articles"
            notes["trend"].append(
                f"{t.source}: articles on one night only ({p.night}, {p.articles} {n}): "
                "no trend line, the figures are in the table."
            )
        drawn = [t for t in d.trends if len(t.points) >= TREND_MIN_NIGHTS]
        if len(drawn) > MAX_TREND_SOURCES:
            notes["trend"].append(
                f"The chart shows the {MAX_TREND_SOURCES} sources with the most articles of "
                f"{len(drawn)}; the table has them all."
            )
    if d.changes.previous_night is None:
        notes["changes"].append("No earlier night in the history to compare with.")
    else:
        c = d.changes
        new = [s.source for s in c.sources if s.previous is None]
        gone = [s.source for s in c.sources if s.tonight is None]
        if new:
            notes["changes"].append(
                f"New tonight (no articles on {c.previous_night}): {', '.join(new)}."
            )
        if gone:
            notes["changes"].append(
                f"No articles tonight (some on {c.previous_night}): {', '.join(gone)}."
            )
    return notes


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_json(d: Digest, charts: dict[str, str] | None = None) -> str:
    """Every figure of the digest as JSON (dates as ISO strings, links relative to it)."""
    data = {"format": JSON_FORMAT, **_plain(asdict(d))}
    data["window_start"] = _plain(d.window_start)
    data["notes"] = d.notes
    data["section_notes"] = section_notes(d)
    data["charts"] = charts or {}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _md_cell(cell: Cell) -> str:
    text = " ".join(cell.text.split()).replace("|", "\\|")
    if cell.link:
        text = f"[{text.replace('[', '(').replace(']', ')')}](<{cell.link.md}>)"
    return text


@cache
def _template(name: str) -> Template:
    html = name.endswith(".html.j2")
    env = Environment(
        undefined=StrictUndefined,
        autoescape=select_autoescape(default=True) if html else False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md_cell"] = _md_cell
    env.filters["count"] = count
    source = files("pipeline").joinpath(f"templates/{name}").read_text(encoding="utf-8")
    return env.from_string(source)


def _context(d: Digest) -> dict[str, Any]:
    return {
        "d": d,
        "t": tables(d),
        "notes": section_notes(d),
        "window_start": d.window_start,
        "bands": BANDS,
    }


def to_markdown(d: Digest, charts: dict[str, str] | None = None) -> str:
    """The digest as Markdown (the charts as images, when written: ``charts`` maps a chart to
    its path relative to the page)."""
    text = _template("digest.md.j2").render(**_context(d), charts=charts or {})
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def to_html(d: Digest, svgs: dict[str, str] | None = None) -> str:
    """The digest as one self-contained page: charts as inline SVG, no script, no asset."""
    return _template("digest.html.j2").render(**_context(d), svgs=svgs or {})


def charts_svg(d: Digest) -> dict[str, str]:
    """The digest's charts as SVG (only those with something to draw)."""
    drawn = {
        "distribution": distribution_svg(d.distributions),
        "trend": trend_svg(d.trends, d.nights),
    }
    return {k: v for k, v in drawn.items() if v is not None}


@dataclass
class Written:
    """What write_digest wrote."""

    html: Path
    markdown: Path
    json: Path
    reports: int
    charts: list[Path]


def write_digest(d: Digest, out: Path, history: Path) -> Written:
    """digest.html, digest.md and digest.json in ``out``, the charts under out/charts and the
    listed articles' reports under out/reports."""
    out.mkdir(parents=True, exist_ok=True)
    reports = write_reports(d, out, history)
    link_stories(d, out, history)
    svgs = charts_svg(d)
    paths = []
    for name, svg in svgs.items():
        path = out / CHARTS[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + svg + "\n", encoding="utf-8")
        paths.append(path)
    charts = {name: CHARTS[name] for name in svgs}
    written = Written(out / "digest.html", out / "digest.md", out / "digest.json", reports, paths)
    written.html.write_text(to_html(d, svgs), encoding="utf-8")
    written.markdown.write_text(to_markdown(d, charts), encoding="utf-8")
    written.json.write_text(to_json(d, charts), encoding="utf-8")
    return written
