"""Time `newsaudit digest` on a synthetic history of N nights x M articles.

    python bench/digest_speed.py                         # 30 nights x 10,000 articles, 12 sources
    python bench/digest_speed.py --nights 7 --articles 1000 --threads 2
    python bench/digest_speed.py --keep runs/bench-digest  # keep the history and the digest

The history is built in DuckDB itself (``range()`` and ``random()``, no Python loop over
rows), with the history's own DDL: per article about 3 framing findings and 2 unsupported
assertions, 12 sources of unequal size, one story per 5 articles on half of them, 1% of
inputs failed. The last night's run folder gets a reports.jsonl of M lines (each the committed
example report), so the digest reads and renders its linked reports as it would at night.

Prints the build time, then the digest's own phases (the figures' queries, reading and
rendering the linked reports, charts and pages) in this process, then `newsaudit digest` end to
end as a command (its start-up included), and the page's size; wall and CPU seconds each,
since wall time on a busy machine says little (the load average is printed last). Target:
<= 10 s for 300,000 articles on 2 cores, page <= 3 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from pipeline.digest.links import write_reports  # noqa: E402
from pipeline.digest.queries import collect, open_history  # noqa: E402
from pipeline.digest.render import charts_svg, to_html, to_json, to_markdown  # noqa: E402
from pipeline.history.schema import SCHEMA_VERSION, TABLES, ddl  # noqa: E402

EXAMPLE = ROOT / "examples" / "002_91cb02791afa4ef3.json"
WORDS = [
    "slammed", "crisis", "very", "radical", "disaster", "chaos", "extremely", "claimed",
    "admitted", "so-called", "outrageous", "brutal", "insisted", "regime", "scheme",
    "draconian", "massive", "reckless", "bombshell", "devastating",
]  # fmt: skip


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> None:
    """Execute ``sql`` with the parameters it names ($name)."""
    con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def build(db: Path, run_root: Path, nights: int, articles: int, sources: int) -> None:
    """The synthetic history in ``db``; the last night's run folder under ``run_root``."""
    con = duckdb.connect(str(db))
    for table in TABLES:
        con.execute(ddl(table))
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    con.execute("SELECT setseed(0.42)")
    params = {"n": nights, "m": articles, "s": sources, "root": str(run_root)}
    _run(
        con,
        """
        INSERT INTO runs SELECT 'run-' || n, $root || '/run-' || n, DATE '2024-01-01' + n::INT,
            TIMESTAMP '2024-01-01 01:00:00' + to_days(n::INT), NULL, 'openai/gpt-4o-mini', 'fp',
            $m + $m // 100, $m, $m // 100, $m * 9000, $m * 700, $m * 0.0018, true, now()
        FROM range($n) t(n)
        """,
        params,
    )
    # source i gets a share of the articles falling with i; slant leans with the source
    _run(
        con,
        """
        INSERT INTO articles
        SELECT 'run-' || n, 'k' || n || '-' || i, 'id' || i,
            'source-' || lpad(src::VARCHAR, 2, '0'), 'https://example.org/' || n || '/' || i, NULL,
            'Synthetic article ' || i || ' of night ' || n,
            CASE WHEN i % 2 = 0 THEN 'story-' || n || '-' || (i // 10) END,
            DATE '2024-01-01' + n::INT, score,
            CASE WHEN score < 0.25 THEN 'neutral' WHEN score < 0.55 THEN 'slightly_slanted'
                 ELSE 'strongly_slanted' END,
            sents, sents * 22, strong, 2 - strong, 3, 3, 300.0 / (sents * 22), i + 1
        FROM (
            SELECT *, least(1.0, pow(r, 2.2) * (0.7 + 0.04 * src + 0.004 * n)) AS score
            FROM (
                SELECT n, i, floor($s * pow(random(), 1.6))::INT AS src, random() AS r,
                       10 + floor(random() * 30)::INT AS sents, floor(random() * 3)::INT AS strong
                FROM range($n) a(n), range($m) b(i)
            )
        )
        """,
        params,
    )
    con.execute(
        """
        INSERT INTO findings
        SELECT run_id, key, ['loaded_language', 'framing_verb', 'intensifier'][1 + j],
            $words[1 + floor(random() * len($words))::INT], 1 + j, 0, 8, 'medium', random()
        FROM articles, range(3) t(j)
        """,
        {"words": WORDS},
    )
    con.execute(
        """
        INSERT INTO unsupported
        SELECT run_id, key, 2 + j, s, j < unsupported_strong,
            'Synthetic assertion ' || j || ' of ' || key || ' stated as plain fact.'
        FROM (SELECT *, random() AS s FROM articles, range(2) t(j))
        """
    )
    con.execute(
        "INSERT INTO stories SELECT run_id, story, key, source FROM articles WHERE story NOT NULL"
    )
    _run(
        con,
        """
        INSERT INTO errors SELECT 'run-' || n, 'feed.jsonl:' || e,
            ['provider_error', 'input_error', 'validation_failure'][1 + e % 3], 'synthetic'
        FROM range($n) a(n), range($m // 100) b(e)
        """,
        params,
    )
    con.close()
    last = run_root / f"run-{nights - 1}"
    last.mkdir(parents=True, exist_ok=True)
    report = json.dumps(json.loads(EXAMPLE.read_text(encoding="utf-8")), separators=(",", ":"))
    with (last / "reports.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(articles):
            key = f"k{nights - 1}-{i}"
            handle.write(f'{{"key":"{key}","id":"id{i}","input":"x:{i}","report":{report}}}\n')


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of a command run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--articles", type=int, default=10_000, help="articles per night")
    parser.add_argument("--sources", type=int, default=12)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default all)")
    parser.add_argument("--keep", type=Path, default=None, help="build here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="digest-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db, out = work / "history.duckdb", work / "digest"
    db.unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    total = args.nights * args.articles
    print(f"cores: {os.cpu_count()}, DuckDB threads: {args.threads or 'all'}")
    try:
        start = time.perf_counter()
        build(db, work / "runs", args.nights, args.articles, args.sources)
        size = db.stat().st_size / 1e6
        print(f"built {args.nights} nights x {args.articles:,} = {total:,} articles: "
              f"{time.perf_counter() - start:.1f} s, {size:.0f} MB")  # fmt: skip

        clock = [(time.perf_counter(), time.process_time())]
        with open_history(db, threads=args.threads) as con:
            digest = collect(con, days=args.nights, history=str(db))
        clock.append((time.perf_counter(), time.process_time()))
        out.mkdir(parents=True)
        reports = write_reports(digest, out, db)
        clock.append((time.perf_counter(), time.process_time()))
        svgs = charts_svg(digest)
        clock.append((time.perf_counter(), time.process_time()))
        html = to_html(digest, svgs)
        to_markdown(digest), to_json(digest)
        clock.append((time.perf_counter(), time.process_time()))
        names = ["queries", f"{reports} reports read and rendered", "charts", "pages"]
        phases = [
            f"{name} {b[0] - a[0]:.2f} s (CPU {b[1] - a[1]:.2f} s)"
            for name, a, b in zip(names, clock, clock[1:], strict=False)
        ]
        whole = clock[-1][0] - clock[0][0], clock[-1][1] - clock[0][1]
        print("; ".join(phases) + f"; digest in-process {whole[0]:.2f} s (CPU {whole[1]:.2f} s)")

        shutil.rmtree(out)
        command = [sys.executable, "-m", "pipeline.cli", "digest", "--db", str(db)]
        command += ["--out", str(out), "--days", str(args.nights)]
        wall, cpu = _timed(command)
        page = (out / "digest.html").stat().st_size / 1e6
        start_wall, start_cpu = _timed([sys.executable, "-m", "pipeline.cli", "--help"])
        print(f"`newsaudit digest` end to end: {wall:.2f} s (CPU {cpu:.2f} s), of which the "
              f"CLI's start-up alone (`newsaudit --help`): {start_wall:.2f} s (CPU "
              f"{start_cpu:.2f} s); digest.html {page:.2f} MB (in-process page "
              f"{len(html.encode()) / 1e6:.2f} MB), {digest.articles:,} articles tonight, "
              f"{len(digest.trends)} sources")  # fmt: skip
        load = os.getloadavg()[0]
        print(f"load average (1 min) at the end: {load:.1f} on {os.cpu_count()} cores")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
