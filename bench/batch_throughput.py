"""Batch throughput against the fake OpenAI-compatible server with a fixed latency per call.

Prints, per concurrency level: articles, wall seconds, articles per minute, the ideal
(linear) figure, the scaling efficiency, and the pipeline's own CPU time per article-stage.
The fake server runs in a separate process, so the CPU figure is newsaudit's alone (batch
loop, prompts, litellm + instructor, validation, quote checks, report writing).

    python bench/batch_throughput.py                      # 500 ms per call, c = 1 8 32 128
    python bench/batch_throughput.py --latency 0.2 --levels 1 4 --articles-per-slot 3
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
from pipeline.config import BatchSettings, Settings  # noqa: E402
from pipeline.run import LLM_STAGES  # noqa: E402
from tests.fake_server import synthetic_records  # noqa: E402

ACTORS = 2


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_server", "--latency", str(latency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def run_level(
    base_url: str,
    concurrency: int,
    articles: int,
    rpm: float | None,
    engine: str = "local",
    processes: int = 1,
) -> dict[str, float]:
    settings = Settings(
        model="openai/fake-model",
        api_base=base_url,
        batch=BatchSettings(
            concurrency=concurrency // ACTORS if engine == "ray" else concurrency,
            cache=False,
            requests_per_minute=rpm,
            ray_actors=ACTORS,
            processes=processes,
        ),
    )
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in synthetic_records(articles)))
        cpu, wall = time.process_time(), time.perf_counter()
        run = BatchRun(settings, str(source), Path(tmp) / "out", engine=engine)
        stats = asyncio.run(run.run())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        cpu += stats.worker_cpu_s  # the worker processes' own, when there are any
        summary = json.loads((Path(tmp) / "out" / "summary.json").read_text())
    assert stats.done == articles, summary["counts"]
    return {"wall": wall, "cpu": cpu, "done": stats.done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per model call")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument(
        "--articles-per-slot", type=int, default=4, help="articles per concurrency slot"
    )
    parser.add_argument("--min-articles", type=int, default=16)
    parser.add_argument("--rpm", type=float, default=None, help="requests per minute cap")
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help=f"ray: a local Ray instance, {ACTORS} actors sharing the concurrency",
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="local engine: worker processes (1: in-process)"
    )
    args = parser.parse_args()

    proc, base_url = start_server(args.latency)
    if args.engine == "ray":
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        print(f"ray.init: {time.perf_counter() - started:.1f} s")
    try:
        # Warm up imports, connections and (with --processes) the fork server of the workers.
        run_level(base_url, ACTORS, ACTORS, None, args.engine, args.processes)
        calls = len(LLM_STAGES)
        per_article = calls * args.latency
        print(
            f"engine {args.engine}, processes {args.processes}, "
            f"fake server latency {args.latency * 1000:.0f} ms/call, {calls} calls/article, "
            f"rpm cap {args.rpm or 'none'}; peak RSS so far in MB shown per row"
        )
        print(
            "| concurrency | articles | wall s | articles/min | linear | efficiency | "
            "CPU ms per article-stage | peak RSS MB |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for level in args.levels:
            articles = max(args.min_articles, level * args.articles_per_slot)
            row = run_level(base_url, level, articles, args.rpm, args.engine, args.processes)
            rate = row["done"] / row["wall"] * 60
            linear = level * 60 / per_article
            if args.rpm:
                linear = min(linear, args.rpm / calls)
            cpu_ms = row["cpu"] * 1000 / (row["done"] * calls)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"| {level} | {articles} | {row['wall']:.1f} | {rate:.0f} | {linear:.0f} | "
                f"{rate / linear:.0%} | {cpu_ms:.1f} | {rss:.0f} |",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
