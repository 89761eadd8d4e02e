"""Seconds per statement of `newsaudit verify` on the configured model (default: embedded).

Statements of the shipped SummEdits news documents (pipeline/data/summedits-news, Apache-2.0),
checked as `newsaudit verify` checks them: the article cleaned, segmented and embedded once,
then each statement retrieved, probed and judged (with the failed-part explanations of an
unsupported verdict). The model server is started and warmed before the clock starts. The
first statement of an article pays for reading it (the model's prompt holds the whole article
up to 1,500 words); the server keeps that prompt cached, so the figure that counts for an
article with several statements is the cost of each further one, printed with the first's.

    python bench/verify_cost.py [--documents 3] [--statements 8] [--config FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_settings  # noqa: E402
from pipeline.run import open_llm, verify  # noqa: E402
from pipeline.text.ingest import RawDocument  # noqa: E402

DATA = ROOT / "pipeline/data/summedits-news"


def main() -> None:
    """Print seconds per statement, per document and overall, and the model's token counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=3)
    parser.add_argument("--statements", type=int, default=8)
    parser.add_argument("--config", default=None)
    args = parser.parse_args()
    settings = load_settings(args.config)
    documents = {
        d["doc_id"]: d["document"]
        for d in map(json.loads, (DATA / "documents.jsonl").read_text().splitlines())
    }
    claims: defaultdict[str, list[str]] = defaultdict(list)
    for row in map(json.loads, (DATA / "summaries.jsonl").read_text().splitlines()):
        claims[row["doc_id"]].append(row["claim"])
    chosen = list(documents)[: args.documents]

    async def run() -> None:
        with open_llm(settings) as llm:
            warm = RawDocument(
                id="warm",
                source="warm",
                kind="text",
                content="Warm up.\n\nThe server starts before the clock does.",
            )
            await verify(warm, ["The server starts."], llm=llm, settings=settings)
            first: list[float] = []
            cached: list[float] = []
            for doc_id in chosen:
                doc = RawDocument(id=doc_id, source=doc_id, kind="text", content=documents[doc_id])
                statements = claims[doc_id][: args.statements]
                started = time.perf_counter()
                await verify(doc, statements[:1], llm=llm, settings=settings)
                first.append(time.perf_counter() - started)
                started = time.perf_counter()
                report = await verify(doc, statements[1:], llm=llm, settings=settings)
                cached.append((time.perf_counter() - started) / (len(statements) - 1))
                print(
                    f"{doc_id}: first statement {first[-1]:.1f} s (reads the article), then "
                    f"{cached[-1]:.2f} s each for {len(statements) - 1} more (article cached; "
                    f"{report.prompt_tokens} prompt tokens)"
                )
            total = [
                (f + c * (args.statements - 1)) / args.statements
                for f, c in zip(first, cached, strict=True)
            ]
            print(
                f"model {settings.model}: {statistics.mean(cached):.2f} s per statement with the "
                f"article cached (worst {max(cached):.2f} s); first statement of an article "
                f"{statistics.mean(first):.1f} s; {statistics.mean(total):.2f} s per statement "
                f"overall for {args.statements} statements an article"
            )

    asyncio.run(run())


if __name__ == "__main__":
    main()
