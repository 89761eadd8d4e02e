"""A nightly history built by hand: the DuckDB tables `newsaudit history add` writes (schema
version 1, their DDL from pipeline.history.schema), filled with rows whose figures the digest
tests compute by hand, without the loader."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipeline.history.schema import SCHEMA_VERSION, TABLES, ddl


def band(score: float) -> str:
    """The slant band of a score (neutral below 0.25, strongly slanted from 0.55)."""
    return "neutral" if score < 0.25 else "slightly_slanted" if score < 0.55 else "strongly_slanted"


def create_history(path: Path) -> duckdb.DuckDBPyConnection:
    """An empty history (the contract's tables and its schema version); the open connection."""
    con = duckdb.connect(str(path))
    for table in TABLES:
        con.execute(ddl(table))
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    return con


@dataclass
class Art:
    """One article of a hand-built history: the figures the digest aggregates."""

    source: str
    slant_score: float
    sentences: int = 10
    words: int = 200
    strong: int = 0
    mild: int = 0
    framing_per_100: float = 0.0
    framing: int = 0
    story: str | None = None
    title: str | None = None
    key: str | None = None  # default: unique to the run
    findings: list[tuple[str, str]] = field(default_factory=list)  # (kind, words)
    assertions: list[tuple[int, float, str]] = field(default_factory=list)  # strong ones


class HistoryBuilder:
    """Adds runs and their articles to a history file, one call per run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.con = create_history(path)
        self.runs = 0

    def add_run(
        self,
        night: date,
        articles: list[Art],
        *,
        errors: Sequence[tuple[str, str]] = (),
        run_dir: Path | None = None,
        tokens: tuple[int, int] = (1000, 200),
        cost: float | None = 0.01,
        complete: bool = True,
    ) -> str:
        """One run on ``night``; with ``run_dir``, also its reports.jsonl (one line per
        article, the report a small fixture report carrying the article's title)."""
        self.runs += 1
        run_id = f"run{self.runs}"
        start = datetime.combine(night, datetime.min.time()) + timedelta(hours=1, minutes=self.runs)
        self.con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, 'openai/fake-model', 'fp', ?, ?, ?, ?, ?, ?, "
            "?, ?)",
            [
                run_id,
                str(run_dir or f"/nowhere/{run_id}"),
                night,
                start,
                start + timedelta(minutes=30),
                len(articles) + len(errors),
                len(articles),
                len(errors),
                tokens[0],
                tokens[1],
                cost,
                complete,
                start + timedelta(hours=1),
            ],
        )
        lines: list[dict[str, Any]] = []
        for n, a in enumerate(articles, start=1):
            key = a.key or f"{run_id}-k{n}"
            self.con.execute(
                f"INSERT INTO articles VALUES (?, ?, ?, ?, ?, NULL, {', '.join(['?'] * 13)})",
                [
                    run_id,
                    key,
                    f"id{n}",
                    a.source,
                    f"https://{a.source}/{n}",
                    a.title or f"{a.source} article {n}",
                    a.story,
                    night,
                    a.slant_score,
                    band(a.slant_score),
                    a.sentences,
                    a.words,
                    a.strong,
                    a.mild,
                    len(a.findings),
                    a.framing,
                    a.framing_per_100,
                    n,
                ],
            )
            for kind, words in a.findings:
                self.con.execute(
                    "INSERT INTO findings VALUES (?, ?, ?, ?, 1, 0, 1, 'medium', 0.7)",
                    [run_id, key, kind, words],
                )
            for sentence, strength, text in a.assertions:
                self.con.execute(
                    "INSERT INTO unsupported VALUES (?, ?, ?, ?, true, ?)",
                    [run_id, key, sentence, strength, text],
                )
            if a.story:
                self.con.execute(
                    "INSERT INTO stories VALUES (?, ?, ?, ?)", [run_id, a.story, key, a.source]
                )
            lines.append({"key": key, "id": f"id{n}", "input": f"in:{n}", "report": _report(a)})
        for name, kind in errors:
            self.con.execute(
                "INSERT INTO errors VALUES (?, ?, ?, ?)", [run_id, name, kind, f"{kind} on {name}"]
            )
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            text = "".join(json.dumps(line) + "\n" for line in lines)
            (run_dir / "reports.jsonl").write_text(text, encoding="utf-8")
        return run_id

    def close(self) -> Path:
        self.con.close()
        return self.path


def _report(a: Art) -> dict[str, Any]:
    from tests.report_fixtures import small_report

    report = small_report()
    report.article = report.article.model_copy(
        update={"title": a.title or "Fixture", "source": a.source}
    )
    return report.model_dump(mode="json")


SOURCES = [
    "daily-courier.example",
    "metro-times.example",
    "north-star.example",
    "the-ledger.example",
]
ONE_ARTICLE_SOURCE = "wire-brief.example"
TOPICS = {
    "budget-vote": "Council passes the budget after a late-night vote",
    "harbour-strike": "Harbour workers extend their strike into a second week",
    "school-closures": "Three schools to close as enrolment falls",
    "rail-merger": "Regional rail operators agree to merge",
    "heatwave": "Heatwave warning issued for the weekend",
}
KINDS = ["loaded_language", "framing_verb", "intensifier"]
PHRASES = [
    "slammed", "chaos", "radical", "very", "so-called", "admitted", "disastrous",
    "extremely", "scheme", "outrageous", "insisted", "crisis",
]  # fmt: skip
ASSERTIONS = [
    "The plan will ruin the town's finances for a decade.",
    "Everyone knows the strike was organised for political reasons.",
    "The closures are the direct result of years of mismanagement.",
    "The merger will inevitably raise fares for every commuter.",
    "Officials ignored the warnings until it was too late.",
]
ERROR_TYPES = ["provider_error", "input_error", "validation_failure"]


def demo_history(folder: Path, nights: int = 7) -> Path:
    """A week of four sources leaning differently (5-9 articles each a night), stories shared
    among some of them, a few failed inputs each night, and on the last night a fifth source
    with one article; the last night's run folder holds its reports.jsonl and one story's
    comparison page. Deterministic. Returns the history's path."""
    from pipeline.batch.stories import story_folder

    rng = random.Random(7)
    builder = HistoryBuilder(folder / "history.duckdb")
    first = date(2024, 5, 1)
    for n in range(nights):
        night = first + timedelta(days=n)
        topics = rng.sample(sorted(TOPICS), 3)
        articles = []
        for i, source in enumerate(SOURCES):
            lean = 0.12 + 0.11 * i + 0.012 * n * (1 if i % 2 else -0.5)
            for j in range(rng.randint(5, 9)):
                topic = topics[j] if j < len(topics) and rng.random() < 0.7 else None
                sentences = rng.randint(12, 30)
                strong = rng.randint(0, 1 + i)
                found = [(rng.choice(KINDS), rng.choice(PHRASES)) for _ in range(rng.randint(0, 4))]
                said = [
                    (rng.randint(1, 7), round(rng.uniform(0.55, 0.97), 3), text)  # 7: the report's
                    for text in rng.sample(ASSERTIONS, strong if strong <= 5 else 5)
                ]
                articles.append(
                    Art(
                        source,
                        round(min(0.97, max(0.01, rng.gauss(lean, 0.12))), 3),
                        sentences=sentences,
                        words=sentences * 21,
                        strong=len(said),
                        mild=rng.randint(0, 3),
                        framing_per_100=round(len(found) * 100 / (sentences * 21), 3),
                        framing=len(found),
                        story=topic,
                        title=TOPICS[topic] if topic else f"{source.split('.')[0]} brief {n}-{j}",
                        findings=found,
                        assertions=said,
                    )
                )
        if n == nights - 1:
            articles.append(Art(ONE_ARTICLE_SOURCE, 0.31, story=topics[0], title=TOPICS[topics[0]]))
        errors = [(f"feeds/{night}.jsonl:{k}", rng.choice(ERROR_TYPES)) for k in range((n + 1) % 3)]
        run_dir = folder / "runs" / night.isoformat() if n == nights - 1 else None
        builder.add_run(
            night,
            articles,
            errors=errors,
            run_dir=run_dir,
            tokens=(9000 * len(articles), 700 * len(articles)),
            cost=round(0.0018 * len(articles), 4),
        )
        if run_dir is not None:
            page = story_folder(run_dir, topics[0]) / "story.html"
            page.parent.mkdir(parents=True)
            page.write_text("<!DOCTYPE html><title>story</title><p>compared</p>\n")
    return builder.close()
