"""Retrieval quality and speed on τ²-bench banking_knowledge: full text, MiniLM vectors, hybrid.

    .venv/bin/python bench/retrieval.py --data ../shared/data [--repeats 3] [--weights 0.1,0.3]

How the benchmark is built (nothing here is tuned per task):
- Corpus: each `documents/*.json` becomes one Markdown file `<id>.md` = "# <title>" + a blank
  line + <content>, ingested with `ingest_path` into a fresh SQLite store exactly as
  `frontdesk ingest` does (heading-respecting chunks, FTS5 by triggers), then every chunk is
  encoded with the packaged MiniLM (`embed_missing`). Both steps are timed.
- Query: the task's `user_scenario.instructions`, verbatim (the whole persona text, boilerplate
  included); `user_scenario.persona` is null in this data set. Relevant = `required_documents`.
- A search returns passages (chunks); the ranking of documents is the order in which their first
  passage appears in the top 100 passages.
- Methods: lexical (`dense_weight` 0: BM25 in process alone), dense (`dense_weight` 1: cosine
  alone, a query of several sentences encoded sentence by sentence), hybrid (each weight in
  --weights). recall@k is the share of a task's required documents in its top k, averaged over
  tasks; MRR uses the first relevant document.
- Split: tasks with an odd number (task_001, task_003, …) are the tuning half, even-numbered tasks
  are held out. `chosen` is the hybrid weight with the best recall@10 on `tune`; its held-out
  gain over the better single method on the held-out half is the figure to quote.
- Latency (lexical, dense and the chosen hybrid): one query per call, wall clock of
  `search_many` (encoding the query included), p95 over all tasks, median over --repeats runs;
  `encode_query_p95_ms` is encoding the query's sentences alone. Passages are encoded as
  `frontdesk ingest` does (sentence-transformers); queries in the timed runs as a serving worker
  does (the NumPy forward pass, the same vectors). Quality runs encode each sentence once.
- `demo_kb_chat_questions`: p95 of ten short chat questions (×10) against the 36 demo articles,
  full text alone and hybrid, the latency a customer's message actually meets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from frontdesk.config import load_settings
from frontdesk.knowledge.dense import MiniLmEncoder, MiniLmQuestionEncoder, embed_missing
from frontdesk.knowledge.index import SENTENCES_ENCODED, HybridIndex
from frontdesk.knowledge.ingest import ingest_demo, ingest_path
from frontdesk.knowledge.terms import telling_sentences
from frontdesk.runtime.services import open_store

PASSAGES_SEARCHED = 100
# Typical chat questions for the demo knowledge base (written for this benchmark).
CHAT_QUESTIONS = [
    "can I return a used item?",
    "do you ship to Norway?",
    "how long does a refund take",
    "my package never arrived",
    "I forgot my password",
    "can I change my shipping address after ordering",
    "what does the warranty cover",
    "do gift cards expire",
    "how do I use a discount code",
    "is my payment information safe",
]


def write_corpus(documents: Path, folder: Path) -> int:
    count = 0
    for path in sorted(documents.glob("*.json")):
        document = json.loads(path.read_text("utf-8"))
        text = f"# {document['title']}\n\n{document['content']}\n"
        (folder / f"{document['id']}.md").write_text(text, "utf-8")
        count += 1
    return count


def ranked_documents(passages: list) -> list[str]:
    return list(dict.fromkeys(Path(passage.source).stem for passage in passages))


def quality(rankings: dict[str, list[str]], tasks: list[dict]) -> dict[str, float]:
    recall5, recall10, reciprocal = [], [], []
    for task in tasks:
        relevant = set(task["required_documents"])
        ranking = rankings[task["id"]]
        recall5.append(len(relevant & set(ranking[:5])) / len(relevant))
        recall10.append(len(relevant & set(ranking[:10])) / len(relevant))
        first = next((rank for rank, doc in enumerate(ranking, 1) if doc in relevant), None)
        reciprocal.append(1 / first if first else 0.0)
    return {
        "recall@5": round(float(np.mean(recall5)), 4),
        "recall@10": round(float(np.mean(recall10)), 4),
        "mrr": round(float(np.mean(reciprocal)), 4),
    }


class RememberingEncoder:
    """Encodes each query once, so sweeping the fusion weight does not re-encode (quality only;
    latency is measured with the question encoder a worker uses)."""

    def __init__(self, encoder: MiniLmEncoder) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.known: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        for text in texts:
            if text not in self.known:
                self.known[text] = self.encoder.encode([text])[0]
        return np.stack([self.known[text] for text in texts])


def rankings_of(index: HybridIndex, tasks: list[dict]) -> dict[str, list[str]]:
    return {
        task["id"]: ranked_documents(
            index.search_many([task["user_scenario"]["instructions"]], PASSAGES_SEARCHED)[0]
        )
        for task in tasks
    }


def latency_p95(index: HybridIndex, tasks: list[dict], repeats: int) -> list[float]:
    p95s = []
    for _ in range(repeats):
        timings = []
        for task in tasks:
            started = time.perf_counter()
            index.search_many([task["user_scenario"]["instructions"]], PASSAGES_SEARCHED)
            timings.append((time.perf_counter() - started) * 1000)
        p95s.append(float(np.percentile(timings, 95)))
    return p95s


def chat_latency(
    scratch: Path, encoder: MiniLmEncoder, questions: MiniLmQuestionEncoder, repeats: int
) -> dict[str, float]:
    """p95 of one short question against the 36 demo articles, the product's own case."""
    settings = load_settings(data_dir=scratch / "demo")
    store = open_store(settings)
    ingest_demo(store)
    embed_missing(store, encoder)
    results = {}
    default = settings.knowledge.dense_weight
    for name, weight in {"lexical": 0.0, f"hybrid@{default}": default}.items():
        index = HybridIndex(store, questions, weight)
        p95s = []
        for _ in range(repeats):
            timings = []
            for _ in range(10):
                for question in CHAT_QUESTIONS:
                    started = time.perf_counter()
                    index.search_many([question], 3)
                    timings.append((time.perf_counter() - started) * 1000)
            p95s.append(float(np.percentile(timings, 95)))
        results[f"{name}_p95_ms"] = round(statistics.median(p95s), 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--weights", default="0.1,0.2,0.3,0.4,0.5,0.6")
    parser.add_argument("--max-tokens", type=int, default=256, help="MiniLM truncation")
    options = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = options.data / "tau2_bench" / "banking_knowledge"
    tasks = json.loads((root / "tasks.json").read_text("utf-8"))
    split = {
        "tune": [t for t in tasks if int(t["id"].rsplit("_", 1)[1]) % 2 == 1],
        "held_out": [t for t in tasks if int(t["id"].rsplit("_", 1)[1]) % 2 == 0],
        "all": tasks,
    }
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus"
        corpus.mkdir()
        documents = write_corpus(root / "documents", corpus)
        store = open_store(load_settings(data_dir=Path(scratch) / "data"))
        started = time.perf_counter()
        report = ingest_path(store, corpus)
        ingest_seconds = time.perf_counter() - started
        encoder = MiniLmEncoder(options.max_tokens)
        started = time.perf_counter()
        encoded = embed_missing(store, encoder)
        encode_seconds = time.perf_counter() - started
        methods = {"lexical": 0.0, "dense": 1.0}
        methods.update({f"hybrid@{w}": float(w) for w in options.weights.split(",")})
        remembering = RememberingEncoder(encoder)
        results = {}
        for name, weight in methods.items():
            rankings = rankings_of(HybridIndex(store, remembering, dense_weight=weight), tasks)
            results[name] = {
                "dense_weight": weight,
                **{part: quality(rankings, chosen) for part, chosen in split.items()},
            }
        chosen = max(
            (name for name in results if name.startswith("hybrid@")),
            key=lambda name: results[name]["tune"]["recall@10"],
        )
        best_single = max(results[n]["held_out"]["recall@10"] for n in ("lexical", "dense"))
        held_out = results[chosen]["held_out"]["recall@10"]
        choice = {
            "method": chosen,
            "held_out_recall@10": held_out,
            "better_single_held_out_recall@10": best_single,
            "held_out_gain": round(held_out / best_single - 1, 4),
        }
        questions = MiniLmQuestionEncoder(options.max_tokens)
        questions.warm_up()
        timed = {"lexical": 0.0, "dense": 1.0, chosen: results[chosen]["dense_weight"]}
        for name, weight in timed.items():
            p95s = latency_p95(HybridIndex(store, questions, weight), tasks, options.repeats)
            results.setdefault(name, {"dense_weight": weight})
            results[name]["query_p95_ms"] = round(statistics.median(p95s), 2)
            results[name]["query_p95_ms_runs"] = [round(p, 2) for p in p95s]
        encode_ms = []
        for task in tasks:
            started = time.perf_counter()
            questions.encode(
                telling_sentences(task["user_scenario"]["instructions"])[:SENTENCES_ENCODED]
            )
            encode_ms.append((time.perf_counter() - started) * 1000)
        passages = len(HybridIndex(store))
        chat = chat_latency(Path(scratch), encoder, questions, options.repeats)
    print(
        json.dumps(
            {
                "dataset": "tau2_bench/banking_knowledge",
                "documents": documents,
                "passages": passages,
                "tasks": {part: len(chosen) for part, chosen in split.items()},
                "ingest_seconds": round(ingest_seconds, 2),
                "ingest_failed": report.failed,
                "encode_passages_seconds": round(encode_seconds, 2),
                "passages_encoded": encoded,
                "encoder": encoder.name,
                "encode_query_p95_ms": round(float(np.percentile(encode_ms, 95)), 2),
                "methods": results,
                "chosen_on_tune": choice,
                "demo_kb_chat_questions": chat,
                "machine": f"{platform.machine()} {os.cpu_count()} cores, "
                f"Python {platform.python_version()}",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
