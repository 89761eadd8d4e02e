"""`newsaudit history add` over many synthetic nights: seconds per night as the history grows.

Each night is a batch run folder written here directly (reports.jsonl, errors.jsonl,
summary.json), no pipeline run: small but realistic reports built from a committed example
(examples/001_*.json: its summary, stages and article fields) with their own sentences
(10-30, labels, scores, framing words), unsupported assertions and bias findings, so every
table gets rows in the proportions of real reports. The first report of each night is
validated against ``ArticleReport``. Each night is loaded with the command line (a fresh
process, as cron runs it), timed, then its folder is deleted; the database grows night by
night. At the end: the database's size, reading it back with ``newsaudit.history`` and one
digest-like query over every night.

    python bench/history_load.py                              # 30 nights of 10,000 articles
    python bench/history_load.py --nights 3 --articles 1000   # a quick run
    python bench/history_load.py --keep runs/bench            # keep the db and last folder
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import newsaudit  # noqa: E402
from pipeline.history import connect  # noqa: E402
from schemas.report import ArticleReport  # noqa: E402

TEMPLATE = next((ROOT / "examples").glob("001_*.json"))
VOCABULARY = (
    "council budget mayor said bridge repair million euros week plan vote members city "
    "residents report officials according year spending tax road school minister claims "
    "critics sweeping disastrous allegedly reportedly could might scandal reform"
)
WORDS = VOCABULARY.split()
LABELS = [
    ("attributed", 0.30),
    ("attributed_unnamed", 0.05),
    ("fact_supported", 0.15),
    ("fact_unsupported", 0.20),
    ("opinion", 0.10),
    ("speculation", 0.05),
    ("other", 0.15),
]
UNSUPPORTED = {"attributed_unnamed", "fact_unsupported", "opinion", "speculation"}
SOURCES = [f"Outlet {i}" for i in range(25)]
KINDS = ["loaded_language", "framing_verb", "intensifier", "opinion_as_fact"]
SLANTS = [(0.25, "neutral"), (0.55, "slightly_slanted"), (1.01, "strongly_slanted")]


def sentence(rng: random.Random, number: int, start: int) -> dict[str, Any]:
    words = rng.choices(WORDS, k=rng.randint(8, 30))
    text = " ".join(words).capitalize() + "."
    label = rng.choices([n for n, _ in LABELS], [w for _, w in LABELS])[0]
    subjective = round(rng.random(), 4)
    framing = []
    if rng.random() < 0.25:
        word = words[rng.randrange(len(words))]
        at = text.lower().find(word)
        framing.append(
            {"start": start + at, "end": start + at + len(word), "text": text[at : at + len(word)]}
            | {"kind": rng.choice(KINDS[:3]), "probability": round(rng.uniform(0.5, 1), 4)}
        )
    return {
        "id": number,
        "start": start,
        "end": start + len(text),
        "text": text,
        "paragraph": number // 3,
        "label": label,
        "score": round(rng.uniform(0.5, 1), 4),
        "why": "synthetic",
        "attribution": None,
        "evidence": [],
        "signals": {
            "classifier": subjective,
            "loaded": None,
            "framing": framing,
            "model": None,
            "subjective": subjective,
            "threshold": 0.61,
            "finding_threshold": 0.75,
            "hedges": [],
            "checkworthy": rng.random() < 0.3,
        },
        "strength": round(rng.random(), 4) if label in UNSUPPORTED else None,
    }


def report(rng: random.Random, template: dict[str, Any], number: int) -> dict[str, Any]:
    sentences, start = [], 0
    for n in range(1, rng.randint(10, 30) + 1):
        sentences.append(sentence(rng, n, start))
        start = sentences[-1]["end"] + 1
    body = " ".join(s["text"] for s in sentences)
    unsupported = sorted(
        (s for s in sentences if s["strength"] is not None), key=lambda s: -s["strength"]
    )
    findings = [
        {
            "kind": f["kind"],
            "quote": f["text"],
            "sentence": s["id"],
            "start": f["start"],
            "end": f["end"],
            "severity": "medium",
            "score": f["probability"],
            "explanation": "synthetic",
            "neutral_rewording": None,
            "rewording_kind": None,
        }
        for s in sentences
        for f in s["signals"]["framing"]
    ]
    score = round(rng.betavariate(2, 5), 4)
    article = {
        **template["article"],
        "id": f"art-{number}",
        "source": rng.choice(SOURCES),
        "url": f"https://news{number % 40}.example/{number}",
        "title": " ".join(rng.choices(WORDS, k=8)).capitalize(),
        "paragraphs": [body],
        "removed": [],
    }
    return {
        **template,
        "article": article,
        "sentences": sentences,
        "unsupported": [s["id"] for s in unsupported if s["strength"] >= 0.5],
        "unsupported_mild": [s["id"] for s in unsupported if s["strength"] < 0.5],
        "claims": [],
        "bias": {
            **template["bias"],
            "findings": findings,
            "score": score,
            "overall": next(name for cut, name in SLANTS if score < cut),
        },
    }


def write_night(folder: Path, night: int, articles: int, seed: int) -> datetime:
    """One run folder of ``articles`` reports (1% of inputs failed); returns its start."""
    rng = random.Random(seed * 100_003 + night)
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    template["summary"]["bullets"] = template["summary"]["bullets"][:1]
    started = datetime(2025, 3, 1, 1, 0, tzinfo=UTC) + timedelta(days=night)
    folder.mkdir(parents=True)
    failed = articles // 100
    with (folder / "reports.jsonl").open("w", encoding="utf-8") as out:
        for i in range(articles - failed):
            made = report(rng, template, night * articles + i)
            if i == 0:
                ArticleReport.model_validate(made)
            key = f"{night:08x}{i:056x}"
            record = {"key": key, "id": made["article"]["id"], "input": f"feed.jsonl:{i + 1}"}
            record["fields"] = {"story_id": f"story-{night}-{rng.randrange(articles // 20)}"}
            record["report"] = made
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    with (folder / "errors.jsonl").open("w", encoding="utf-8") as out:
        for i in range(failed):
            error = {"key": None, "id": None, "input": f"feed.jsonl:{articles - i}"}
            error |= {"error_type": "provider_error", "message": "503 after 3 retries"}
            out.write(json.dumps(error) + "\n")
    seconds = 3600.0
    summary = {
        "finished_at": (started + timedelta(seconds=seconds)).isoformat(),
        "interrupted": False,
        "model": template["model"],
        "run_fingerprint": {"model": template["model"], "seed": 0},
        "counts": {"inputs": articles, "succeeded": articles - failed, "failed": failed}
        | {"reports_in_file": articles - failed},
        "seconds": seconds,
    }
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return started


def cpu() -> float:
    """CPU seconds (user and system) of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load(run_dir: Path, db: Path) -> tuple[float, float, float]:
    """Seconds `newsaudit history add` takes in a fresh process, its CPU seconds, and the
    seconds of the load itself (as the command says: reading the folder, writing the rows)."""
    command = [sys.executable, "-m", "pipeline.cli", "history", "add", str(run_dir)]
    started, used = time.perf_counter(), cpu()
    done = subprocess.run([*command, "--db", str(db)], cwd=ROOT, capture_output=True, text=True)
    seconds, used = time.perf_counter() - started, cpu() - used
    if done.returncode != 0:
        raise SystemExit(f"history add failed ({done.returncode}):\n{done.stderr}")
    said = re.search(r"errors in ([\d.]+) s", done.stderr)
    return seconds, used, float(said.group(1)) if said else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--articles", type=int, default=10_000, help="articles a night")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="history-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "history.duckdb"
    db.unlink(missing_ok=True)
    startup, used = time.perf_counter(), cpu()
    subprocess.run([sys.executable, "-m", "pipeline.cli", "history", "--help"], cwd=ROOT,
                   capture_output=True, check=True)  # fmt: skip
    startup, used = time.perf_counter() - startup, cpu() - used
    print(f"cores {os.cpu_count()}, {args.nights} nights x {args.articles:,} articles")
    print(f"command start-up (python, imports, --help): {startup:.2f} s, {used:.2f} s CPU")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("night | generate s | report MB | command s | its CPU s | of it, load s | db MB")
    commands, cpus, loads = [], [], []
    for night in range(args.nights):
        folder = work / f"night-{night:02d}"
        shutil.rmtree(folder, ignore_errors=True)
        made = time.perf_counter()
        write_night(folder, night, args.articles, args.seed)
        made = time.perf_counter() - made
        size = (folder / "reports.jsonl").stat().st_size / 1e6
        command, used, seconds = load(folder, db)
        commands.append(command)
        cpus.append(used)
        loads.append(seconds)
        print(
            f"{night + 1:5d} | {made:10.2f} | {size:9.1f} | {command:9.2f} | {used:9.2f} | "
            f"{seconds:13.2f} | {db.stat().st_size / 1e6:5.0f}"
        )
        if night < args.nights - 1 or not args.keep:
            shutil.rmtree(folder)
    for name, values in (("command", commands), ("command CPU", cpus), ("load", loads)):
        ordered = sorted(values)
        print(
            f"{name} per night: median {ordered[len(ordered) // 2]:.2f} s, max {ordered[-1]:.2f} "
            f"s, first {values[0]:.2f} s, last {values[-1]:.2f} s"
        )
    if args.keep:
        command, used, seconds = load(work / f"night-{args.nights - 1:02d}", db)
        print(
            f"the last night again (adds nothing): command {command:.2f} s ({used:.2f} s CPU), "
            f"load {seconds:.2f} s"
        )
    read = time.perf_counter()
    frames = newsaudit.history(db, ["runs", "articles"])
    read = time.perf_counter() - read
    articles = len(frames.articles)
    print(f"newsaudit.history(db, ['runs', 'articles']): {articles:,} articles, {read:.2f} s")
    with connect(db) as con:
        query = time.perf_counter()
        rows = con.execute(
            "SELECT night, source, avg(slant_score), sum(unsupported_strong) FROM articles "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        query = time.perf_counter() - query
        (sentences,) = con.execute("SELECT count(*) FROM sentences").fetchone()
    print(f"slant by night and source: {len(rows)} rows in {query:.3f} s ({sentences:,} sentences)")
    print(f"database: {db.stat().st_size / 1e6:.0f} MB at {db}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
