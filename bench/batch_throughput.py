"""Batch throughput against the fake OpenAI-compatible server with a fixed latency per call.

Prints, per concurrency level: articles, the engine's start-up (until its model clients are
up: worker processes, Ray actors), wall seconds after it, articles per minute over that time,
the ideal (linear) figure, the scaling efficiency, and newsaudit's own CPU per article-stage
(this process plus its worker processes or Ray actors). The fake server runs in a separate
process, so the CPU figure is newsaudit's alone (batch loop, prompts, litellm + instructor,
validation, quote checks, report writing).

    python bench/batch_throughput.py                          # in one process, c = 1 8 32 128
    python bench/batch_throughput.py --processes 2            # two worker processes
    python bench/batch_throughput.py --engine ray --levels 8 32 128   # a local Ray, 2 actors
    python bench/batch_throughput.py --levels 32 --rpm 1200   # a requests-per-minute cap
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.batch import BatchRun  # noqa: E402
from pipeline.core.config import BatchSettings, JudgmentSettings, Settings  # noqa: E402
from pipeline.run import LLM_STAGES  # noqa: E402
from tests.fake_server import synthetic_records  # noqa: E402

ACTORS = 2


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The fake server in its own process; returns it and its api_base."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_server", "--latency", str(latency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def run_level(
    base_url: str, concurrency: int, articles: int, args: argparse.Namespace
) -> dict[str, float]:
    """One batch of ``articles`` synthetic records at ``concurrency``; its figures."""
    batch = BatchSettings(
        concurrency=concurrency,
        cache=False,
        requests_per_minute=args.rpm,
        ray_actors=ACTORS,
        processes=args.processes,
    )
    # A hosted provider's shape: one call per stage (four per article), no per-sentence probes.
    judgments = JudgmentSettings(model_signal="batch")
    settings = Settings(
        model="openai/fake-model", api_base=base_url, batch=batch, judgments=judgments
    )
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in synthetic_records(articles)))
        cpu, wall = time.process_time(), time.perf_counter()
        stats = asyncio.run(
            BatchRun(settings, str(source), Path(tmp) / "out", engine=args.engine).run()
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert stats.done == articles, (stats.done, stats.failed)
    startup = stats.startup_s or 0.0
    return {"wall": wall, "startup": startup, "cpu": cpu + stats.worker_cpu_s, "done": stats.done}


def print_row(level: int, articles: int, row: dict[str, float], args: argparse.Namespace) -> None:
    """One Markdown table row."""
    calls = len(LLM_STAGES)
    running = row["wall"] - row["startup"]
    rate = row["done"] / running * 60
    linear = level * 60 / (calls * args.latency)
    if args.rpm:
        linear = min(linear, args.rpm / calls)
    cpu_ms = row["cpu"] * 1000 / (row["done"] * calls)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"| {level} | {articles} | {row['startup']:.1f} | {running:.1f} | {rate:.0f} | "
        f"{linear:.0f} | {rate / linear:.0%} | {cpu_ms:.1f} | {rss:.0f} |",
        flush=True,
    )


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per model call")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--articles-per-slot", type=int, default=4)
    parser.add_argument("--min-articles", type=int, default=16)
    parser.add_argument("--rpm", type=float, default=None, help="requests per minute cap")
    parser.add_argument("--engine", choices=["local", "ray"], default="local")
    parser.add_argument(
        "--processes", type=int, default=1, help="local engine: worker processes (1: in-process)"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    proc, base_url = start_server(args.latency)
    if args.engine == "ray":
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        print(f"ray.init: {time.perf_counter() - started:.1f} s (not counted)")
    try:
        # Warm up imports, connections and (with --processes) the workers' fork server.
        run_level(base_url, ACTORS, ACTORS, args)
        who = f"{ACTORS} actors" if args.engine == "ray" else f"{args.processes} process(es)"
        print(
            f"engine {args.engine}, {who}, fake server latency {args.latency * 1000:.0f} ms/call, "
            f"{len(LLM_STAGES)} calls/article, rpm cap {args.rpm or 'none'}"
        )
        print(
            "| concurrency | articles | start-up s | wall s after start-up | articles/min | "
            "linear | efficiency | CPU ms per article-stage | peak RSS MB (this process) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for level in args.levels:
            articles = max(args.min_articles, level * args.articles_per_slot)
            print_row(level, articles, run_level(base_url, level, articles, args), args)
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
