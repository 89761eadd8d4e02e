"""Stage 6, report: the ArticleReport as JSON for machines and Markdown for people."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from jinja2 import Environment, StrictUndefined

from schemas.report import ArticleReport

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
def _markdown_template() -> object:
    env = Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)
    env.filters["verdict_label"] = lambda v: VERDICT_LABELS.get(v, v)
    env.filters["oneline"] = lambda s: " ".join(str(s).split())
    source = files("pipeline").joinpath("templates/report.md.j2").read_text(encoding="utf-8")
    return env.from_string(source)


def to_markdown(report: ArticleReport) -> str:
    """A readable Markdown report: summary, unsupported claims first, bias, then the run's cost."""
    template = _markdown_template()
    text: str = template.render(r=report, totals=report.totals())  # type: ignore[attr-defined]
    return text.rstrip() + "\n"
