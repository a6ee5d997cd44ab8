"""Which section answers: the demo articles' index against the evaluation set's information
questions (written by the project, `src/frontdesk/evaluation/data/eval_set.jsonl`).

    .venv/bin/python bench/sections.py [--split dev|test] [--weight 0.8]

For each information item, its last turn is searched with `HybridIndex` over the demo articles
as `frontdesk serve` ingests them (packaged MiniLM, shipped vectors encoded afresh); a hit at k
is one of the item's sections among the first k passages. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile

from frontdesk.evaluation.dataset import load_items, split
from frontdesk.knowledge.dense import MiniLmQuestionEncoder, embed_missing
from frontdesk.knowledge.index import HybridIndex, Passage
from frontdesk.knowledge.ingest import DEMO_PREFIX, ingest_demo
from frontdesk.store.database import create_store_engine, migrate
from frontdesk.store.repository import Store

DEPTHS = (1, 3, 5)


def section_of(passage: Passage) -> str:
    """The evaluation set's name of a passage's section: "article-stem#Heading"."""
    stem = passage.source.removeprefix(DEMO_PREFIX).removesuffix(".md")
    return f"{stem}#{passage.heading.rsplit('›', 1)[-1].strip()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--weight", type=float, default=0.8, help="knowledge.dense_weight")
    args = parser.parse_args()
    dev, test = split(load_items())
    items = [
        item
        for item in (dev if args.split == "dev" else test)
        if item.kind == "information" and item.sections
    ]
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/sections.db"
        migrate(url)
        store = Store(create_store_engine(url))
        ingest_demo(store)
        encoder = MiniLmQuestionEncoder()
        embed_missing(store, encoder)
        index = HybridIndex(store, encoder, args.weight)
        found = index.search_many([item.turns[-1] for item in items], k=max(DEPTHS))
        store.engine.dispose()
    hits = dict.fromkeys(DEPTHS, 0)
    for item, passages in zip(items, found, strict=True):
        ranked = [section_of(p) for p in passages]
        for k in DEPTHS:
            hits[k] += any(section in ranked[:k] for section in item.sections)
    result = {"split": args.split, "dense_weight": args.weight, "questions": len(items)}
    result.update({f"top{k}": round(hits[k] / len(items), 3) for k in DEPTHS})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
