"""Scores reports against an editor's gold file (recall of boilerplate, support and bias findings).

Usage: python -m pipeline.evaluate GOLD.yaml REPORT.json [REPORT.json ...]

Matching rule (from the gold file): a finding matches a gold entry when their quotes overlap
after normalising whitespace, quote marks and case; here, when their longest common run covers
at least half of the shorter quote.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import yaml

from pipeline.quotes import normalize
from schemas.report import ArticleReport

MIN_OVERLAP = 0.5


def overlaps(a: str, b: str) -> bool:
    """True when two quotes share a run covering at least half of the shorter one."""
    x, y = normalize(a)[0], normalize(b)[0]
    if not x or not y:
        return False
    match = SequenceMatcher(None, x, y, autojunk=False).find_longest_match(0, len(x), 0, len(y))
    return match.size >= MIN_OVERLAP * min(len(x), len(y))


@dataclass
class Tally:
    """Found out of expected for one category, with the misses named."""

    found: int = 0
    expected: int = 0
    missed: list[str] = field(default_factory=list)

    def add(self, hit: bool, label: str) -> None:
        """Count one gold entry."""
        self.expected += 1
        self.found += int(hit)
        if not hit:
            self.missed.append(label)

    @property
    def recall(self) -> float | None:
        """found / expected, None when nothing was expected."""
        return self.found / self.expected if self.expected else None


def _unsupported_quotes(report: ArticleReport) -> list[str]:
    quotes = []
    for audit in report.unsupported:
        quotes.append(audit.claim.quote)
        quotes.extend(audit.verdict.evidence if audit.verdict else [])
    return quotes


def _supported_quotes(report: ArticleReport) -> list[str]:
    quotes = []
    for audit in report.claims:
        if audit.verdict is not None and audit.verdict.verdict.supported:
            quotes.append(audit.claim.quote)
            quotes.extend(audit.verdict.evidence)
    return quotes


def score(gold: dict[str, Any], reports: dict[str, ArticleReport]) -> dict[str, Tally]:
    """Recall per category over the articles present in both the gold file and the reports."""
    tallies = {k: Tally() for k in ("boilerplate", "attributed", "unsupported", "bias")}
    for name, expected in gold.get("articles", {}).items():
        report = reports.get(name)
        if report is None:
            continue
        body = " ".join(report.article.body.split())
        for line in expected.get("boilerplate") or []:
            tallies["boilerplate"].add(" ".join(line.split()) not in body, f"{name}: {line}")
        for category, quotes in (
            ("attributed", _supported_quotes(report)),
            ("unsupported", _unsupported_quotes(report)),
        ):
            for entry in expected.get(category) or []:
                hit = any(overlaps(entry["quote"], q) for q in quotes)
                tallies[category].add(hit, f"{name}: {entry['quote'][:60]}")
        findings = [f.quote for f in report.bias.findings]
        entries = list(expected.get("bias") or [])
        if "headline" in expected:
            entries.append({"quote": expected["headline"]["quote"]})
        for entry in entries:
            hit = any(overlaps(entry["quote"], q) for q in findings)
            tallies["bias"].add(hit, f"{name}: {entry['quote'][:60]}")
    return tallies


def main(argv: list[str]) -> int:
    """Print a recall table for the given reports."""
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    gold = yaml.safe_load(Path(argv[0]).read_text(encoding="utf-8"))
    reports = {}
    for path in argv[1:]:
        report = ArticleReport.model_validate_json(Path(path).read_text(encoding="utf-8"))
        reports[Path(report.article.source or path).name] = report
    print("| category | found / expected | recall |\n|---|---|---|")
    for category, tally in score(gold, reports).items():
        recall = f"{tally.recall:.0%}" if tally.recall is not None else "n/a"
        print(f"| {category} | {tally.found} / {tally.expected} | {recall} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
