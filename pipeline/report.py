"""Stage 6, report: the ArticleReport as JSON for machines, Markdown and HTML for people."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from itertools import pairwise
from pathlib import Path

from jinja2 import Environment, StrictUndefined, select_autoescape

from pipeline.text.quotes import normalize
from schemas.bias import BiasFinding
from schemas.report import ArticleReport
from schemas.sentence import Sentence, SentenceLabel
from schemas.story import StoryReport
from schemas.verification import VerifyReport

VERDICT_LABELS = {
    "supported_by_attribution": "supported (attributed)",
    "supported_by_evidence_in_text": "supported (evidence in text)",
    "unsupported": "UNSUPPORTED",
    "opinion_as_fact": "OPINION AS FACT",
    "speculation": "SPECULATION",
}

# Legend order: the four an editor must see first, then the backed ones, then the rest.
LABEL_ORDER = [
    SentenceLabel.fact_unsupported,
    SentenceLabel.opinion,
    SentenceLabel.speculation,
    SentenceLabel.attributed_unnamed,
    SentenceLabel.attributed,
    SentenceLabel.fact_supported,
    SentenceLabel.other,
]


def to_json(report: ArticleReport) -> str:
    """Pretty JSON of the whole report."""
    return report.model_dump_json(indent=2)


def _oneline(value: object) -> str:
    return " ".join(str(value).split())


def _clip(value: object, width: int = 80) -> str:
    """``value`` on one line, cut at a word boundary to at most ``width`` characters."""
    text = _oneline(value)
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0] or text[: width - 1]
    return cut.rstrip(" ,;:") + "…"


def _refs(numbers: list[int]) -> str:
    """Sentence numbers as the report writes them: ``[s4, s9]``."""
    return "[" + ", ".join(f"s{n}" for n in numbers) + "]"


def _filters(env: Environment) -> Environment:
    env.filters["verdict_label"] = lambda v: VERDICT_LABELS.get(v, v)
    env.filters["oneline"] = _oneline
    env.filters["clip"] = _clip
    env.filters["cell"] = lambda s: _oneline(s).replace("|", "\\|")
    env.filters["refs"] = _refs
    env.filters["score"] = lambda x: f"{x:.2f}"
    return env


@cache
def _markdown_template(name: str = "report.md.j2") -> object:
    env = _filters(Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True))
    source = files("pipeline").joinpath(f"templates/{name}").read_text(encoding="utf-8")
    return env.from_string(source)


def label_counts(report: ArticleReport) -> dict[str, int]:
    """How many body sentences carry each label, every label listed, in legend order."""
    counts = Counter(s.label for s in report.sentences)
    return {label.value: counts[label] for label in LABEL_ORDER}


def unsupported_sentences(report: ArticleReport, *, mild: bool = False) -> list[Sentence]:
    """The strong unsupported assertions in the report's ranked order, or with ``mild`` the
    folded ones (ids that name no sentence are skipped)."""
    by_id = {s.id: s for s in report.sentences}
    ids = report.unsupported_mild if mild else report.unsupported
    return [by_id[n] for n in ids if n in by_id]


def to_markdown(report: ArticleReport) -> str:
    """A readable Markdown report: summary, unsupported assertions first, claims, bias, every
    sentence's label, then the run's cost."""
    template = _markdown_template()
    text: str = template.render(  # type: ignore[attr-defined]
        r=report,
        totals=report.totals(),
        counts=label_counts(report),
        unsupported=unsupported_sentences(report),
        mild=unsupported_sentences(report, mild=True),
    )
    return text.rstrip() + "\n"


@dataclass
class Segment:
    """A run of text and the numbers of the bias findings covering all of it."""

    text: str
    findings: list[int] = field(default_factory=list)


def _span(text: str, quote: str) -> tuple[int, int] | None:
    """Where a verified quote sits in ``text`` (matching as the quote checker does)."""
    norm_text, index = normalize(text)
    needle = normalize(quote)[0].strip(" .,;:")
    start = norm_text.find(needle) if needle else -1
    if start < 0:
        return None
    return index[start], index[start + len(needle) - 1] + 1


def segments(text: str, marks: list[tuple[int, str]]) -> list[Segment]:
    """``text`` cut where marks begin and end; marks are (finding number, quote). A quote not
    found in ``text`` marks all of it: the finding is about this text, so it stays visible."""
    spans = [(*(_span(text, quote) or (0, len(text))), number) for number, quote in marks]
    cuts = sorted({0, len(text), *(p for s in spans for p in s[:2])})
    return [
        Segment(text[start:end], findings=[n for a, b, n in spans if a <= start and end <= b])
        for start, end in pairwise(cuts)
    ]


@dataclass
class Piece:
    """A run of body text: one sentence (cut by its findings' quotes), or the text between."""

    text: str
    sentence: Sentence | None = None
    parts: list[Segment] = field(default_factory=list)


def _findings_of(report: ArticleReport, sentence: int | None) -> list[tuple[int, str]]:
    """(number, quote) of the findings anchored to this sentence (None: the headline)."""
    numbered = enumerate(report.bias.findings, start=1)
    return [(n, f.quote) for n, f in numbered if f.sentence == sentence]


def body_pieces(report: ArticleReport) -> list[list[Piece]]:
    """The body paragraph by paragraph, cut into sentences at their offsets. Text no sentence
    covers (spaces, stray quote marks) is kept as it is, so the pieces of paragraph i join to
    ``article.paragraphs[i]``; a sentence that overlaps another or crosses a paragraph break
    stays plain text."""
    body = report.article.body
    ordered = sorted(report.sentences, key=lambda s: (s.start, s.end))
    out: list[list[Piece]] = []
    start = 0
    for paragraph in report.article.paragraphs:
        end, cursor, pieces = start + len(paragraph), start, []
        for s in ordered:
            if cursor <= s.start < s.end <= end:
                if s.start > cursor:
                    pieces.append(Piece(body[cursor : s.start]))
                text = body[s.start : s.end]
                pieces.append(Piece(text, s, segments(text, _findings_of(report, s.id))))
                cursor = s.end
        if cursor < end:
            pieces.append(Piece(body[cursor:end]))
        out.append(pieces)
        start = end + 2  # paragraphs are joined by a blank line
    return out


def finding_title(finding: BiasFinding) -> str:
    """The hover text of an underlined finding: kind, severity, why, and the neutral wording."""
    text = f"{finding.kind.value} ({finding.severity.value}, score {finding.score:.2f}): "
    text += finding.explanation
    if finding.neutral_rewording:
        kind = {"minimal_edit": " (minimal edit)", "model": " (model)"}.get(
            finding.rewording_kind or "", ""
        )
        text += f" Neutral{kind}: {finding.neutral_rewording}"
    return text


@cache
def _html_template(name: str = "report.html.j2") -> object:
    env = Environment(
        undefined=StrictUndefined, autoescape=select_autoescape(default=True), trim_blocks=True
    )
    _filters(env).filters["finding_title"] = finding_title
    source = files("pipeline").joinpath(f"templates/{name}").read_text(encoding="utf-8")
    return env.from_string(source)


def to_html(report: ArticleReport) -> str:
    """A self-contained HTML page: the article sentence by sentence, each shaded by its label
    (score and why on hover) and every bias finding underlined; a sidebar with the summary,
    counts and the unsupported assertions. No script, no external asset: it reads the same
    with JavaScript off."""
    title = report.article.title
    template = _html_template()
    text: str = template.render(  # type: ignore[attr-defined]
        r=report,
        title=segments(title, _findings_of(report, None)) if title else [],
        paragraphs=body_pieces(report),
        counts=label_counts(report),
        labels=LABEL_ORDER,
        unsupported=unsupported_sentences(report),
        mild=unsupported_sentences(report, mild=True),
        ids={s.id for s in report.sentences},
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


VERDICT_MARKS = {
    "supported": "SUPPORTED",
    "not_supported": "NOT SUPPORTED",
    "contradicted": "CONTRADICTED",
}


def verify_to_markdown(report: VerifyReport) -> str:
    """The checked statements as Markdown: verdict, probability, evidence sentences, problems."""
    lines = [f"# Statements checked against: {report.title or report.article_id}", ""]
    lines.append(f"Source: {report.source or report.article_id}; model: {report.model}.")
    items = [(f"Statement {n}", c) for n, c in enumerate(report.checks, start=1)]
    if report.headline is not None:
        items.append(("The article's own headline", report.headline))
    for name, check in items:
        mark = VERDICT_MARKS[check.verdict.value]
        odds = f"P(supported) = {check.probability:.2f}, threshold {check.threshold:.2f}"
        lines += ["", f"## {name}: {mark} ({odds})", "", f"> {check.statement}", ""]
        lines += [
            f"- [s{i}] {text}" for i, text in zip(check.evidence, check.evidence_text, strict=True)
        ]
        lines += [f"- problem: {p}" for p in check.problems]
    lines += ["", *[f"Note: {w}" for w in report.warnings]] if report.warnings else []
    tokens = f"{report.prompt_tokens}+{report.completion_tokens}"
    lines += ["", f"{report.calls} calls, {tokens} tokens, {report.seconds:.1f} s."]
    return "\n".join(lines) + "\n"
