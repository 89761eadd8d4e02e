"""Package SummEdits' news domain (Apache-2.0) for `newsaudit calibrate`'s statement rows.

    python -m train.summedits [--source ../shared/dev/faithfulness/summedits_news.jsonl]

SummEdits (Laban et al., EMNLP 2023; repository salesforce/factualNLG,
data/summedits/summedits_news.json at 0da1dfa, Apache-2.0): 819 summaries of 25 news
articles from 2023, each consistent with its article or carrying one subtle edit. The rows
repeat their article; the package keeps each article once (documents.jsonl: doc_id,
document) and the summaries apart (summaries.jsonl: id, doc_id, claim, label), about a
tenth of the size. Nothing is changed or dropped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

OUT = Path("pipeline/data/summedits-news")


def main() -> None:
    """Write documents.jsonl and summaries.jsonl from the development file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", type=Path, default=Path("../shared/dev/faithfulness/summedits_news.jsonl")
    )
    args = parser.parse_args()
    rows = [json.loads(x) for x in args.source.read_text(encoding="utf-8").splitlines() if x]
    documents: dict[str, str] = {}
    for row in rows:
        if documents.setdefault(row["doc_id"], row["document"]) != row["document"]:
            raise SystemExit(f"{row['id']}: another text for document {row['doc_id']}")
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "documents.jsonl").open("w", encoding="utf-8") as out:
        for doc_id, document in documents.items():
            out.write(json.dumps({"doc_id": doc_id, "document": document}) + "\n")
    with (OUT / "summaries.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            keep = {k: row[k] for k in ("id", "doc_id", "claim", "label")}
            out.write(json.dumps(keep) + "\n")
    print(f"{len(documents)} documents, {len(rows)} summaries in {OUT}")


if __name__ == "__main__":
    main()
