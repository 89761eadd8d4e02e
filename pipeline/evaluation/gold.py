"""Scores reports against an editor's gold file: recall of boilerplate removal, attributed and
unsupported sentences (by label) and bias findings.

Usage: python -m pipeline.evaluation.gold GOLD.yaml REPORT.json [REPORT.json ...]

Matching rule (from the gold file): a finding matches a gold entry when their quotes overlap
after normalising whitespace, quote marks and case; here, as in the shared label-aware scorer,
when one holds the other or they share 60% of the shorter one's words.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.text.quotes import normalize
from schemas.report import ArticleReport
from schemas.sentence import SentenceLabel

MIN_OVERLAP = 0.6
WORDS = re.compile(r"\w+")


def overlaps(a: str, b: str) -> bool:
    """True when one quote holds the other, or they share at least 60% of the shorter one's
    words, after normalising whitespace, quote marks and case (the gold file's rule)."""
    x, y = normalize(a)[0], normalize(b)[0]
    if not x or not y:
        return False
    if x in y or y in x:
        return True
    wx, wy = set(WORDS.findall(x)), set(WORDS.findall(y))
    return bool(wx and wy) and len(wx & wy) / min(len(wx), len(wy)) >= MIN_OVERLAP


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


ATTRIBUTED = {SentenceLabel.attributed}


def _labels_for(quote: str, report: ArticleReport) -> set[SentenceLabel]:
    return {s.label for s in report.sentences if overlaps(quote, s.text)}


def score(gold: dict[str, Any], reports: dict[str, ArticleReport]) -> dict[str, Tally]:
    """Recall per category over the articles present in both the gold file and the reports:
    a gold attributed or unsupported quote is found when a sentence it overlaps carries an
    attributed or an unsupported label; a bias quote when a finding's quote overlaps it."""
    tallies = {k: Tally() for k in ("boilerplate", "attributed", "unsupported", "bias")}
    for name, expected in gold.get("articles", {}).items():
        report = reports.get(name)
        if report is None:
            continue
        body = " ".join(report.article.body.split())
        for line in expected.get("boilerplate") or []:
            tallies["boilerplate"].add(" ".join(line.split()) not in body, f"{name}: {line}")
        for entry in expected.get("attributed") or []:
            hit = bool(_labels_for(entry["quote"], report) & ATTRIBUTED)
            tallies["attributed"].add(hit, f"{name}: {entry['quote'][:60]}")
        for entry in expected.get("unsupported") or []:
            hit = any(label.unsupported for label in _labels_for(entry["quote"], report))
            tallies["unsupported"].add(hit, f"{name}: {entry['quote'][:60]}")
        findings = [f.quote for f in report.bias.findings]
        for entry in expected.get("bias") or []:
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
