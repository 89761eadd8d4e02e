"""Stage 6, report: the ArticleReport as JSON for machines, Markdown and HTML for people."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from itertools import pairwise
from pathlib import Path

from jinja2 import Environment, StrictUndefined, select_autoescape

from pipeline.quotes import normalize
from schemas.report import ArticleReport
from schemas.story import StoryReport

VERDICT_LABELS = {
    "supported_by_attribution": "supported (attributed)",
    "supported_by_evidence_in_text": "supported (evidence in text)",
    "unsupported": "UNSUPPORTED",
    "opinion_as_fact": "OPINION AS FACT",
    "speculation": "SPECULATION",
}


def to_json(report: ArticleReport) -> str:
    """Pretty JSON of the whole report."""
    return report.model_dump_json(indent=2)


@cache
def _markdown_template(name: str = "report.md.j2") -> object:
    env = Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)
    env.filters["verdict_label"] = lambda v: VERDICT_LABELS.get(v, v)
    env.filters["oneline"] = lambda s: " ".join(str(s).split())
    source = files("pipeline").joinpath(f"templates/{name}").read_text(encoding="utf-8")
    return env.from_string(source)


def to_markdown(report: ArticleReport) -> str:
    """A readable Markdown report: summary, unsupported claims first, bias, then the run's cost."""
    template = _markdown_template()
    text: str = template.render(r=report, totals=report.totals())  # type: ignore[attr-defined]
    return text.rstrip() + "\n"


@dataclass
class Segment:
    """A run of article text and the claim and finding marks covering all of it."""

    text: str
    claims: list[int] = field(default_factory=list)
    findings: list[int] = field(default_factory=list)


def _span(text: str, quote: str) -> tuple[int, int] | None:
    """Where a verified quote sits in ``text`` (matching as the quote checker does)."""
    norm_text, index = normalize(text)
    needle = normalize(quote)[0].strip(" .,;:")
    start = norm_text.find(needle) if needle else -1
    if start < 0:
        return None
    return index[start], index[start + len(needle) - 1] + 1


def segments(text: str, marks: list[tuple[str, int, str]]) -> list[Segment]:
    """``text`` cut where marks begin and end; marks are (kind, number, quote)."""
    spans = []
    for kind, number, quote in marks:
        found = _span(text, quote)
        if found is not None:
            spans.append((found[0], found[1], kind, number))
    cuts = sorted({0, len(text), *(p for s in spans for p in s[:2])})
    out = []
    for start, end in pairwise(cuts):
        covering = [s for s in spans if s[0] <= start and end <= s[1]]
        out.append(
            Segment(
                text[start:end],
                claims=[n for a, b, kind, n in covering if kind == "claim"],
                findings=[n for a, b, kind, n in covering if kind == "finding"],
            )
        )
    return out


def _marks(report: ArticleReport) -> list[tuple[str, int, str]]:
    marks = [("claim", c.number, c.claim.quote) for c in report.claims]
    marks += [("finding", n, f.quote) for n, f in enumerate(report.bias.findings, start=1)]
    return marks


@cache
def _html_template(name: str = "report.html.j2") -> object:
    env = Environment(
        undefined=StrictUndefined, autoescape=select_autoescape(default=True), trim_blocks=True
    )
    env.filters["verdict_label"] = lambda v: VERDICT_LABELS.get(v, v)
    source = files("pipeline").joinpath(f"templates/{name}").read_text(encoding="utf-8")
    return env.from_string(source)


def to_html(report: ArticleReport) -> str:
    """A self-contained HTML page: the article with every claim quote highlighted by verdict and
    every bias finding underlined, a sidebar with the summary and counts. No script, no
    external asset: it reads the same with JavaScript off."""
    marks = _marks(report)
    article = report.article
    verdicts = {
        c.number: (c.verdict.verdict.value if c.verdict else "not_assessed") for c in report.claims
    }
    counts: dict[str, int] = {}
    for value in verdicts.values():
        counts[value] = counts.get(value, 0) + 1
    template = _html_template()
    text: str = template.render(  # type: ignore[attr-defined]
        r=report,
        title=segments(article.title, marks) if article.title else [],
        paragraphs=[segments(p, marks) for p in article.paragraphs],
        verdicts=verdicts,
        counts=counts,
        totals=report.totals(),
    )
    return text


def story_to_markdown(story: StoryReport) -> str:
    """The story as Markdown: the claim x source matrix, contradictions, single-source claims,
    and each source's framing."""
    template = _markdown_template("story.md.j2")
    text: str = template.render(  # type: ignore[attr-defined]
        s=story,
        shared=[c for c in story.claims if not c.single_source],
        single=[c for c in story.claims if c.single_source],
        contradictions=[c for c in story.claims if c.contradicted_by],
    )
    return text.rstrip() + "\n"


def story_to_html(story: StoryReport) -> str:
    """The story as a self-contained HTML page with the claim x source matrix."""
    text: str = _html_template("story.html.j2").render(s=story)  # type: ignore[attr-defined]
    return text


def write_story(folder: Path, story: StoryReport) -> None:
    """story.json, story.md and story.html in ``folder`` (UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "story.json").write_text(story.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (folder / "story.md").write_text(story_to_markdown(story), encoding="utf-8")
    (folder / "story.html").write_text(story_to_html(story), encoding="utf-8")
