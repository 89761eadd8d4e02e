"""The digest's figures: one DuckDB query each over the nightly history that `newsaudit history
add` writes (schema version 1), returned as plain dataclasses.

Every figure reads one temporary table, ``digest_articles``: the articles of the nights the
digest looks at, of the chosen sources, each article once per night (when two runs of one
night reported the same article key, the later run's row counts).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipeline.core.errors import InputError
from pipeline.history import connect

BANDS = ("neutral", "slightly_slanted", "strongly_slanted")
# The bias findings that are framing phrases in the writer's words (the slant score's spans).
FRAMING_KINDS = ("loaded_language", "framing_verb", "intensifier", "framing")
NO_SOURCE = "(no source)"
TOP_ARTICLES = 10  # most slanted articles listed
TOP_ASSERTIONS = 10  # strongest unsupported assertions listed
TOP_WORDS = 8  # framing words per source
MAX_STORIES = 30  # stories listed (the rest are counted)
BOX_MIN = 5  # fewer articles than this: each score is shown, no quartiles
TREND_MIN_NIGHTS = 2  # a trend line needs two nights


@dataclass
class RunTotals:
    """What the night's runs did, all sources together (the runs' own counts)."""

    runs: int = 0
    inputs: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # failed articles by error type
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # None: no run of the night knew its price
    cost_unknown_runs: int = 0  # runs whose cost is unknown (not in cost_usd)
    incomplete_runs: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)


@dataclass
class ArticleRef:
    """One article of the night, and where its report line is."""

    key: str
    run_id: str
    source: str
    title: str | None
    url: str | None
    article_id: str | None
    slant_score: float
    slant: str
    findings: int
    unsupported_strong: int
    run_dir: str | None
    report_line: int | None
    # Set by the writer, relative to the digest's folder: the report written beside the digest
    # (``reports/<key>``, add .md or .html), or else the run's reports.jsonl.
    report: str | None = None
    jsonl: str | None = None


@dataclass
class Assertion:
    """A strong unsupported assertion: its sentence, strength and text, and its article."""

    article: ArticleRef
    sentence: int
    strength: float
    text: str
    anchor: str | None = None  # set by the writer: the sentence's id in the written report


@dataclass
class Distribution:
    """One source's slant scores on the night."""

    source: str
    articles: int
    minimum: float
    maximum: float
    mean: float
    q1: float | None  # quartiles: None below BOX_MIN articles (see ``scores``)
    median: float
    q3: float | None
    bands: dict[str, int]  # articles per slant band
    scores: list[float] | None  # every score, below BOX_MIN articles


@dataclass
class TrendPoint:
    """One source on one night: how many articles and their three figures."""

    night: date
    articles: int
    slant: float  # mean slant score
    strong_share: float | None  # strong unsupported assertions / sentences (None: no sentences)
    framing: float | None  # framing phrases per 100 words, weighted by words (None: no words)


@dataclass
class SourceTrend:
    """A source's points over the window's nights (only nights on which it had articles)."""

    source: str
    points: list[TrendPoint]

    @property
    def articles(self) -> int:
        return sum(p.articles for p in self.points)


@dataclass
class FramingWord:
    """A framing phrase (lower-cased): how often it was used and in how many articles."""

    words: str
    uses: int
    articles: int


@dataclass
class SourceFraming:
    """A source's most used framing phrases on the night."""

    source: str
    articles: int
    words: list[FramingWord]


@dataclass
class StoryCoverage:
    """Which of the night's sources covered a story (articles each), which left it out."""

    story: str
    covered: dict[str, int]
    left_out: list[str]
    run_dirs: list[str]
    link: str | None = None  # set by the writer: the batch's story comparison, if written


@dataclass
class SourceChange:
    """A source on the previous night and tonight (None: no articles that night)."""

    source: str
    previous: TrendPoint | None
    tonight: TrendPoint | None


@dataclass
class Changes:
    """Since the previous night in the history."""

    previous_night: date | None = None
    previous: RunTotals = field(default_factory=RunTotals)
    previous_articles: int = 0
    previous_bands: dict[str, int] = field(default_factory=dict)
    sources: list[SourceChange] = field(default_factory=list)


@dataclass
class Digest:
    """Every figure of the digest for one night."""

    history: str
    night: date | None
    days: int
    selected: list[str]  # the --source filter (empty: every source)
    nights: list[date] = field(default_factory=list)  # nights with runs in the trend window
    runs: RunTotals = field(default_factory=RunTotals)
    articles: int = 0  # the night's articles (of the selected sources)
    per_source: dict[str, int] = field(default_factory=dict)  # the night's articles per source
    bands: dict[str, int] = field(default_factory=dict)
    slanted: list[ArticleRef] = field(default_factory=list)
    assertions: list[Assertion] = field(default_factory=list)
    distributions: list[Distribution] = field(default_factory=list)
    trends: list[SourceTrend] = field(default_factory=list)
    framing: list[SourceFraming] = field(default_factory=list)
    stories: list[StoryCoverage] = field(default_factory=list)
    stories_total: int = 0
    stories_single_source: int = 0
    changes: Changes = field(default_factory=Changes)
    notes: list[str] = field(default_factory=list)  # what the page must say up front

    @property
    def window_start(self) -> date | None:
        return None if self.night is None else self.night - timedelta(days=self.days - 1)


@contextmanager
def open_history(
    path: Path, *, threads: int | None = None, wait: bool | float = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The history database, read-only under its lock (waiting for a writer to finish, by
    default), refused unless it holds schema version 1 (``pipeline.history``)."""
    with connect(path, wait=wait) as con:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        yield con


def _all(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> list[Any]:
    return con.execute(sql, params).fetchall()


def known_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every source with an article anywhere in the history."""
    sql = f"SELECT DISTINCT coalesce(source, '{NO_SOURCE}') FROM articles ORDER BY 1"
    return [r[0] for r in _all(con, sql)]


def check_sources(con: duckdb.DuckDBPyConnection, wanted: Sequence[str]) -> None:
    """Raise InputError naming the sources the history has never seen, with close matches."""
    if not wanted:
        return
    known = known_sources(con)
    unknown = [s for s in wanted if s not in known]
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hints.append(f"{name!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
    listed = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
    raise InputError(
        f"unknown source {', '.join(hints)}: the history has no article from it; "
        f"its sources: {listed or 'none yet'}"
    )


def _run_totals(con: duckdb.DuckDBPyConnection, night: date) -> RunTotals:
    row = con.execute(
        """
        SELECT count(*), coalesce(sum(inputs), 0), coalesce(sum(succeeded), 0),
               coalesce(sum(failed), 0), coalesce(sum(prompt_tokens), 0),
               coalesce(sum(completion_tokens), 0), sum(cost_usd),
               count(*) FILTER (WHERE cost_usd IS NULL),
               coalesce(list(run_id ORDER BY run_id) FILTER (WHERE NOT coalesce(complete, false)),
                        []),
               coalesce(list(DISTINCT model ORDER BY model) FILTER (WHERE model IS NOT NULL), [])
        FROM runs WHERE night = ?
        """,
        [night],
    ).fetchone()
    assert row is not None
    errors = _all(
        con,
        """
        SELECT coalesce(e.error_type, 'unknown'), count(*) FROM errors e JOIN runs r USING (run_id)
        WHERE r.night = ? GROUP BY 1 ORDER BY 2 DESC, 1
        """,
        [night],
    )
    return RunTotals(
        runs=row[0],
        inputs=int(row[1]),
        succeeded=int(row[2]),
        failed=int(row[3]),
        errors={kind: n for kind, n in errors},
        prompt_tokens=int(row[4]),
        completion_tokens=int(row[5]),
        cost_usd=row[6],
        cost_unknown_runs=row[7],
        incomplete_runs=list(row[8]),
        models=list(row[9]),
    )


def _select_articles(
    con: duckdb.DuckDBPyConnection, start: date, end: date, sources: Sequence[str]
) -> None:
    """Fill the temporary table every figure reads."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE digest_articles AS
        SELECT a.run_id, a.key, a.article_id, coalesce(a.source, '{NO_SOURCE}') AS source, a.url,
               a.title, a.story, a.night, coalesce(a.slant_score, 0) AS slant_score,
               coalesce(a.slant, 'neutral') AS slant, coalesce(a.sentences, 0) AS sentences,
               coalesce(a.words, 0) AS words,
               coalesce(a.unsupported_strong, 0) AS unsupported_strong,
               coalesce(a.findings, 0) AS findings,
               coalesce(a.framing_per_100_words, 0) AS framing_per_100_words,
               a.report_line, r.run_dir
        FROM articles a JOIN runs r USING (run_id)
        WHERE a.night BETWEEN $start AND $end
          AND ($every OR list_contains($sources::VARCHAR[], coalesce(a.source, '{NO_SOURCE}')))
        QUALIFY row_number() OVER (
            PARTITION BY a.night, a.key ORDER BY r.started_at DESC NULLS LAST, a.run_id DESC
        ) = 1
        """,
        {"start": start, "end": end, "every": not sources, "sources": list(sources)},
    )


ARTICLE_COLUMNS = (
    "a.key, a.run_id, a.source, a.title, a.url, a.article_id, a.slant_score, a.slant, "
    "a.findings, a.unsupported_strong, a.run_dir, a.report_line"
)


def _ref(row: Sequence[Any]) -> ArticleRef:
    return ArticleRef(*row[:12])


def most_slanted(con: duckdb.DuckDBPyConnection, night: date, limit: int) -> list[ArticleRef]:
    """The night's articles with the highest slant scores (more findings first on a tie)."""
    sql = f"""
        SELECT {ARTICLE_COLUMNS} FROM digest_articles a WHERE a.night = ?
        ORDER BY a.slant_score DESC, a.findings DESC, a.source, a.key LIMIT ?
    """
    return [_ref(r) for r in _all(con, sql, [night, limit])]


def strongest_assertions(
    con: duckdb.DuckDBPyConnection, night: date, limit: int
) -> list[Assertion]:
    """The night's strong unsupported assertions, strongest first."""
    sql = f"""
        SELECT {ARTICLE_COLUMNS}, u.sentence, u.strength, u.text
        FROM unsupported u JOIN digest_articles a USING (run_id, key)
        WHERE a.night = ? AND u.strong
        ORDER BY u.strength DESC, a.source, a.key, u.sentence LIMIT ?
    """
    return [
        Assertion(_ref(r), int(r[12]), float(r[13]), r[14] or "")
        for r in _all(con, sql, [night, limit])
    ]


def distributions(con: duckdb.DuckDBPyConnection, night: date) -> list[Distribution]:
    """Each source's slant scores on the night: range, quartiles, mean, bands."""
    rows = _all(
        con,
        f"""
        SELECT source, count(*), min(slant_score), max(slant_score), avg(slant_score),
               quantile_cont(slant_score, [0.25, 0.5, 0.75]),
               {", ".join(f"count(*) FILTER (WHERE slant = '{b}')" for b in BANDS)},
               CASE WHEN count(*) < {BOX_MIN} THEN list(slant_score ORDER BY slant_score) END
        FROM digest_articles WHERE night = ? GROUP BY source ORDER BY source
        """,
        [night],
    )
    out = []
    for r in rows:
        q1, median, q3 = r[5]
        few = r[1] < BOX_MIN
        out.append(
            Distribution(
                source=r[0],
                articles=r[1],
                minimum=r[2],
                maximum=r[3],
                mean=r[4],
                q1=None if few else q1,
                median=median,
                q3=None if few else q3,
                bands=dict(zip(BANDS, r[6:9], strict=True)),
                scores=list(r[9]) if r[9] is not None else None,
            )
        )
    return out


def night_figures(con: duckdb.DuckDBPyConnection) -> dict[str, dict[date, TrendPoint]]:
    """Every source's figures on every night of ``digest_articles``."""
    rows = _all(
        con,
        """
        SELECT source, night, count(*), avg(slant_score),
               sum(unsupported_strong) / nullif(sum(sentences), 0),
               sum(framing_per_100_words * words) / nullif(sum(words), 0)
        FROM digest_articles GROUP BY source, night ORDER BY source, night
        """,
    )
    out: dict[str, dict[date, TrendPoint]] = {}
    for source, night, n, slant, strong, framing in rows:
        out.setdefault(source, {})[night] = TrendPoint(night, n, slant, strong, framing)
    return out


def framing_words(
    con: duckdb.DuckDBPyConnection, night: date, per_source: dict[str, int], limit: int
) -> list[SourceFraming]:
    """Each source's most used framing phrases on the night."""
    rows = _all(
        con,
        f"""
        SELECT * FROM (
            SELECT a.source AS source, lower(trim(f.words)) AS phrase, count(*) AS uses,
                   count(DISTINCT a.key) AS arts
            FROM findings f JOIN digest_articles a USING (run_id, key)
            WHERE a.night = ? AND f.kind IN ({", ".join(f"'{k}'" for k in FRAMING_KINDS)})
              AND coalesce(trim(f.words), '') <> ''
            GROUP BY 1, 2
        )
        QUALIFY row_number() OVER (PARTITION BY source ORDER BY uses DESC, arts DESC, phrase)
                <= ?
        ORDER BY source, uses DESC, arts DESC, phrase
        """,
        [night, limit],
    )
    found: dict[str, list[FramingWord]] = {}
    for source, phrase, uses, arts in rows:
        found.setdefault(source, []).append(FramingWord(phrase, uses, arts))
    return [SourceFraming(s, n, found.get(s, [])) for s, n in sorted(per_source.items())]


def story_coverage(
    con: duckdb.DuckDBPyConnection, night: date, active: Sequence[str], limit: int
) -> tuple[list[StoryCoverage], int, int]:
    """The night's stories (the records' story field, and the batch's compared stories): who
    covered each and who, of the night's sources, left it out; the most covered first.
    Returns the listed stories, how many stories there were, and how many had one source."""
    rows = _all(
        con,
        """
        WITH s AS (
            SELECT story, source, key, run_dir FROM digest_articles
            WHERE night = $night AND story IS NOT NULL
            UNION
            SELECT st.story, a.source, a.key, a.run_dir
            FROM stories st JOIN digest_articles a USING (run_id, key)
            WHERE a.night = $night AND st.story IS NOT NULL
        ),
        per AS (
            SELECT story, source, count(DISTINCT key) AS n, list(DISTINCT run_dir) AS dirs
            FROM s GROUP BY story, source
        ),
        ranked AS (
            SELECT story, list(source ORDER BY source) AS sources, list(n ORDER BY source) AS ns,
                   flatten(list(dirs)) AS dirs, count(*) AS width, sum(n) AS articles
            FROM per GROUP BY story
        )
        SELECT story, sources, ns, dirs, width, count(*) OVER (),
               count(*) FILTER (WHERE width = 1) OVER ()
        FROM ranked ORDER BY width DESC, articles DESC, story LIMIT $limit
        """,
        {"night": night, "limit": limit},
    )
    if not rows:
        return [], 0, 0
    out = []
    for story, sources, ns, dirs, _width, _total, _single in rows:
        covered = dict(zip(sources, ns, strict=True))
        left = [s for s in active if s not in covered]
        out.append(StoryCoverage(story, covered, left, sorted({d for d in dirs if d})))
    return out, rows[0][5], rows[0][6]


def _bands(con: duckdb.DuckDBPyConnection, night: date) -> dict[str, int]:
    counts = dict(
        _all(con, "SELECT slant, count(*) FROM digest_articles WHERE night = ? GROUP BY 1", [night])
    )
    return {b: counts.get(b, 0) for b in BANDS}


def collect(
    con: duckdb.DuckDBPyConnection,
    *,
    night: date | None = None,
    days: int = 30,
    sources: Sequence[str] = (),
    history: str = "",
) -> Digest:
    """Every figure of the digest for ``night`` (default: the latest night with a run) and the
    ``days`` up to it, for ``sources`` (default: all). InputError for a source the history has
    never seen or a night with no run."""
    if days < 1:
        raise InputError(f"--days must be at least 1, not {days}")
    selected = list(dict.fromkeys(sources))
    check_sources(con, selected)
    all_nights = [r[0] for r in _all(con, "SELECT DISTINCT night FROM runs ORDER BY night")]
    all_nights = [n for n in all_nights if n is not None]
    digest = Digest(history=history, night=night, days=days, selected=selected)
    if night is None:
        if not all_nights:
            digest.notes.append(
                "The history holds no runs yet: load a batch run with "
                "`newsaudit history add RUN_DIR --db HISTORY`."
            )
            return digest
        night = digest.night = all_nights[-1]
    elif night not in all_nights:
        raise InputError(_no_night(night, all_nights, history))
    start = night - timedelta(days=days - 1)
    earlier = [n for n in all_nights if n < night]
    previous = earlier[-1] if earlier else None
    _select_articles(con, min(start, previous) if previous else start, night, selected)

    digest.nights = [n for n in all_nights if start <= n <= night]
    digest.runs = _run_totals(con, night)
    digest.per_source = dict(
        _all(
            con,
            "SELECT source, count(*) FROM digest_articles WHERE night = ? GROUP BY 1 ORDER BY 1",
            [night],
        )
    )
    digest.articles = sum(digest.per_source.values())
    digest.bands = _bands(con, night)
    digest.slanted = most_slanted(con, night, TOP_ARTICLES)
    digest.assertions = strongest_assertions(con, night, TOP_ASSERTIONS)
    digest.distributions = distributions(con, night)
    figures = night_figures(con)
    digest.trends = [
        SourceTrend(source, [p for n, p in sorted(points.items()) if n >= start])
        for source, points in sorted(figures.items())
    ]
    digest.trends = [t for t in digest.trends if t.points]
    digest.framing = framing_words(con, night, digest.per_source, TOP_WORDS)
    digest.stories, digest.stories_total, digest.stories_single_source = story_coverage(
        con, night, sorted(digest.per_source), MAX_STORIES
    )
    if previous is not None:
        names = sorted(s for s, points in figures.items() if night in points or previous in points)
        digest.changes = Changes(
            previous_night=previous,
            previous=_run_totals(con, previous),
            previous_articles=sum(p[previous].articles for p in figures.values() if previous in p),
            previous_bands=_bands(con, previous),
            sources=[
                SourceChange(s, figures[s].get(previous), figures[s].get(night)) for s in names
            ],
        )
    if digest.runs.succeeded == 0 and digest.runs.failed:
        digest.notes.append(
            f"No article was reported on {night}: all {digest.runs.failed} inputs failed "
            "(see the failures by error type)."
        )
    elif digest.articles == 0:
        chosen = f" from {', '.join(selected)}" if selected else ""
        digest.notes.append(f"No article{chosen} was reported on {night}.")
    if digest.runs.incomplete_runs:
        digest.notes.append(
            f"Run(s) {', '.join(digest.runs.incomplete_runs)} did not finish: the night's "
            "figures hold only the articles they reported."
        )
    return digest


def _no_night(night: date, nights: list[date], history: str) -> str:
    where = f" in {history}" if history else ""
    if not nights:
        return f"no run on {night}{where}: the history holds no runs yet"
    near = sorted(nights, key=lambda n: (abs((n - night).days), n))[:3]
    return (
        f"no run on {night}{where}; its nights run from {nights[0]} to {nights[-1]} "
        f"(nearest: {', '.join(str(n) for n in sorted(near))})"
    )
