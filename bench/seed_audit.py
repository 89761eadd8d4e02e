"""Wall time and tokens of `newsaudit check` and `newsaudit verify` on the seed articles.

    python bench/seed_audit.py [--model M --api-base URL] [--json-output compact|schema]
                               [--repeat N] [--no-verify] [SEED ...]

Runs the whole audit on each seed with the configured model (default: the embedded one,
started once for the run, as `newsaudit serve` would keep it) and prints, per seed: wall
seconds, calls, prompt and completion tokens, the seconds of each stage, and the seconds of a
`verify` of five statements (the report's first five standalone claims, checked again as an
editor would paste them). Figures are for this machine; the first call also pays for
filling llama-server's prompt cache with the system message.

With ``--repeat N`` the five seeds are audited N times in turn (seed 000..004, then again),
and a summary gives per seed the median wall seconds with the lowest and highest, the
completion tokens, and the milliseconds per generated token of the structured calls as
llama-server times them (its ``timings``; the one-token probes are left out), so a change in
tokens and a change in speed per token can be told apart. ``--json-output compact`` measures
a llama.cpp-served model with the compact-JSON grammar (docs/providers.md); compare the
reports it writes with ``--out`` against the schema run's before turning it on.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_settings  # noqa: E402
from pipeline.run import audit, open_llm, verify  # noqa: E402
from pipeline.text.ingest import read_document  # noqa: E402

STAGES = ("summarize", "claims", "support", "summary_check", "bias")


class Timings:
    """Wraps a transport: adds up llama-server's generation timings of multi-token answers."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.predicted_ms = 0.0
        self.predicted_n = 0

    async def send(self, kwargs: dict[str, Any]) -> Any:
        """The inner transport's answer; its timings counted when it wrote over one token."""
        response = await self.inner.send(kwargs)
        timings = getattr(response, "timings", None) or {}
        if int(timings.get("predicted_n", 0)) > 1:
            self.predicted_ms += float(timings["predicted_ms"])
            self.predicted_n += int(timings["predicted_n"])
        return response


def main() -> None:
    """Audit and verify each seed; print one table row per seed and run, then a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="*", type=Path)
    parser.add_argument("--model", default=None)
    parser.add_argument("--api-base", default=None)
    parser.add_argument("--json-output", choices=["compact", "schema"], default=None)
    parser.add_argument("--out", type=Path, default=None, help="write each seed's JSON report here")
    parser.add_argument("--repeat", type=int, default=1, help="audit every seed N times")
    parser.add_argument("--no-verify", action="store_true", help="skip the verify of 5")
    args = parser.parse_args()
    seeds = args.seeds or sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
    settings = load_settings(
        None, model=args.model, api_base=args.api_base, json_output=args.json_output
    )
    head = " | ".join(f"{s} s" for s in STAGES)
    print(f"| run | seed | wall s | calls | prompt+completion | {head} | verify 5 s | ms/token |")
    print("|---" * (7 + len(STAGES)) + "|")
    walls: dict[str, list[float]] = defaultdict(list)
    tokens: dict[str, set[int]] = defaultdict(set)
    per_token: dict[str, list[float]] = defaultdict(list)
    with open_llm(settings) as llm:
        timing = Timings(llm.transport)
        llm.transport = timing
        for run in range(1, args.repeat + 1):
            for path in seeds:
                doc = read_document(str(path))
                timing.predicted_ms, timing.predicted_n = 0.0, 0
                started = time.perf_counter()
                report = asyncio.run(audit(doc, llm=llm, settings=settings))
                wall = time.perf_counter() - started
                if args.out is not None:
                    args.out.mkdir(parents=True, exist_ok=True)
                    (args.out / f"{path.stem}.json").write_text(
                        report.model_dump_json(indent=2), encoding="utf-8"
                    )
                ms = timing.predicted_ms / max(timing.predicted_n, 1)
                checked = 0.0
                if not args.no_verify:
                    statements = [c.claim.claim for c in report.claims[:5]]
                    started = time.perf_counter()
                    asyncio.run(verify(doc, statements, llm=llm, settings=settings))
                    checked = time.perf_counter() - started
                total = report.totals()
                by_stage = {s.stage: s.seconds for s in report.stages}
                cells = " | ".join(f"{by_stage.get(s, 0):.0f}" for s in STAGES)
                seed = path.name[:3]
                walls[seed].append(wall)
                tokens[seed].add(total.completion_tokens)
                per_token[seed].append(ms)
                print(
                    f"| {run} | {seed} | {wall:.1f} | {total.calls} | "
                    f"{total.prompt_tokens}+{total.completion_tokens} | {cells} | "
                    f"{checked:.0f} | {ms:.1f} |",
                    flush=True,
                )
    print("\n| seed | runs | median wall s | lowest-highest | completion tokens | ms/token |")
    print("|---|---|---|---|---|---|")
    for seed, values in walls.items():
        print(
            f"| {seed} | {len(values)} | {statistics.median(values):.1f} | "
            f"{min(values):.1f}-{max(values):.1f} | {'/'.join(map(str, sorted(tokens[seed])))} | "
            f"{statistics.median(per_token[seed]):.1f} |"
        )


if __name__ == "__main__":
    main()
