"""Wall time and tokens of `newsaudit check` and `newsaudit verify` on the seed articles.

    python bench/seed_audit.py [--model M --api-base URL] [SEED ...]

Runs the whole audit on each seed with the configured model (default: the embedded one,
started once for the run, as `newsaudit serve` would keep it) and prints, per seed: wall
seconds, calls, prompt and completion tokens, the seconds of each stage, and the seconds of a
`verify` of five statements (the report's first five standalone claims, checked again as an
editor would paste them). Figures are for this machine; the first call also pays for
filling llama-server's prompt cache with the system message.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_settings  # noqa: E402
from pipeline.run import audit, open_llm, verify  # noqa: E402
from pipeline.text.ingest import read_document  # noqa: E402

STAGES = ("summarize", "claims", "support", "summary_check", "bias")


def main() -> None:
    """Audit and verify each seed; print one table row per seed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="*", type=Path)
    parser.add_argument("--model", default=None)
    parser.add_argument("--api-base", default=None)
    args = parser.parse_args()
    seeds = args.seeds or sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
    settings = load_settings(None, model=args.model, api_base=args.api_base)
    head = " | ".join(f"{s} s" for s in STAGES)
    print(f"| seed | wall s | calls | prompt+completion | {head} | verify 5 s |")
    print("|---" * (5 + len(STAGES)) + "|")
    with open_llm(settings) as llm:
        for path in seeds:
            doc = read_document(str(path))
            started = time.perf_counter()
            report = asyncio.run(audit(doc, llm=llm, settings=settings))
            wall = time.perf_counter() - started
            statements = [c.claim.claim for c in report.claims[:5]]
            started = time.perf_counter()
            asyncio.run(verify(doc, statements, llm=llm, settings=settings))
            checked = time.perf_counter() - started
            total = report.totals()
            by_stage = {s.stage: s.seconds for s in report.stages}
            cells = " | ".join(f"{by_stage.get(s, 0):.0f}" for s in STAGES)
            print(
                f"| {path.name[:3]} | {wall:.0f} | {total.calls} | "
                f"{total.prompt_tokens}+{total.completion_tokens} | {cells} | {checked:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
