"""Where newsaudit's CPU goes per article-stage: a batch against the fake server, profiled.

Runs one batch (the local engine in this process, so cProfile sees every call: model calls
are async on the event loop, no worker threads) against the fake OpenAI-compatible server in
its own process, twice: once plain, for the CPU per article-stage, and once under cProfile,
for how that CPU divides between the libraries (self time, scaled to the plain run's CPU).

    python bench/profile_call.py                         # concurrency 32, 128 articles, 500 ms
    python bench/profile_call.py --transport litellm     # the same through litellm.acompletion
    python bench/profile_call.py --top 40                # and the 40 costliest functions

For an engine with threads or processes, sample instead: ``py-spy record --gil -f raw -o
prof.txt -- python bench/batch_throughput.py --levels 32``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.batch_throughput import start_server  # noqa: E402
from pipeline.batch import BatchRun  # noqa: E402
from pipeline.core.config import BatchSettings, Settings  # noqa: E402
from pipeline.model import llm as llm_module  # noqa: E402
from pipeline.model import transport  # noqa: E402
from pipeline.run import LLM_STAGES  # noqa: E402
from tests.fake_server import synthetic_records  # noqa: E402

# Path fragments naming who a function belongs to, first match wins.
OWNERS = [
    ("litellm", "litellm"),
    ("instructor", "instructor"),
    ("pydantic", "pydantic"),
    ("openai", "openai SDK (types)"),
    ("httpx", "httpx + httpcore + h11"),
    ("httpcore", "httpx + httpcore + h11"),
    ("/h11/", "httpx + httpcore + h11"),
    ("anyio", "httpx + httpcore + h11"),
    ("jinja2", "jinja2 (prompts)"),
    ("tenacity", "tenacity"),
    ("rapidfuzz", "rapidfuzz (quotes)"),
    ("py3langid", "py3langid (language)"),
    ("json", "json"),
    ("asyncio", "asyncio + selectors"),
    ("selectors", "asyncio + selectors"),
    ("/pipeline/", "newsaudit (pipeline/)"),
    ("/schemas/", "newsaudit (schemas/)"),
]


def owner(filename: str) -> str:
    """The library a profiled function's file belongs to."""
    for fragment, name in OWNERS:
        if fragment in filename:
            return name
    return "built-ins called from the event loop" if filename == "~" else "other stdlib"


def run_batch(base_url: str, concurrency: int, articles: int) -> float:
    """CPU seconds of one batch (outputs in a temporary directory)."""
    settings = Settings(
        model="openai/fake-model",
        api_base=base_url,
        batch=BatchSettings(concurrency=concurrency, cache=False, processes=1),
    )
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in synthetic_records(articles)))
        cpu = time.process_time()
        stats = asyncio.run(BatchRun(settings, str(source), Path(tmp) / "out").run())
        cpu = time.process_time() - cpu
    assert stats.done == articles
    return cpu


def by_owner(profile: cProfile.Profile) -> Counter[str]:
    """Self time per library, without the event loop's wait for the network (idle). A
    built-in (C) function's time goes to the library that called it (json.loads in
    pydantic, socket.send in httpcore)."""
    shares: Counter[str] = Counter()
    stats = pstats.Stats(profile)
    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if "epoll" in name:
            continue
        if filename != "~":
            shares[owner(filename)] += row[2]  # tottime
            continue
        for (caller_file, _l, _n), caller_row in row[4].items():
            shares[owner(caller_file)] += caller_row[2]
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--articles", type=int, default=128)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per model call")
    parser.add_argument("--transport", choices=["fast", "litellm"], default="fast")
    parser.add_argument("--top", type=int, default=0, help="also print the N costliest functions")
    args = parser.parse_args()
    if args.transport == "litellm":
        llm_module.open_transport = lambda *_a: transport.LiteLLMTransport()  # type: ignore[assignment]

    proc, base_url = start_server(args.latency)
    try:
        run_batch(base_url, 2, 2)  # warm up imports, connections, schema caches
        calls = args.articles * len(LLM_STAGES)
        cpu = run_batch(base_url, args.concurrency, args.articles)
        profile = cProfile.Profile()
        profile.enable()
        run_batch(base_url, args.concurrency, args.articles)
        profile.disable()
    finally:
        proc.terminate()
        proc.wait()
    per_call = cpu * 1000 / calls
    shares = by_owner(profile)
    total = sum(shares.values())
    print(
        f"transport {args.transport}, concurrency {args.concurrency}, {args.articles} articles, "
        f"{calls} calls: {per_call:.2f} ms of CPU per article-stage (unprofiled)"
    )
    print("| where | share | ms per article-stage |")
    print("|---|---|---|")
    for name, seconds in shares.most_common():
        print(f"| {name} | {seconds / total:.0%} | {per_call * seconds / total:.2f} |")
    if args.top:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
