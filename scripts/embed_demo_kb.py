"""Write src/frontdesk/knowledge/demo_kb_vectors.npz: the demo articles' MiniLM vectors (each
passage, and each section's own question), so that a first start stores them instead of encoding
for seconds. Run it after changing a demo article; tests/test_demo_vectors.py fails when they drift.

    .venv/bin/python scripts/embed_demo_kb.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from sqlalchemy import select

from frontdesk.knowledge.dense import DEMO_VECTORS, MiniLmQuestionEncoder, embed_missing
from frontdesk.knowledge.ingest import ingest_demo
from frontdesk.store.database import create_store_engine, migrate
from frontdesk.store.repository import Store
from frontdesk.store.tables import KnowledgeVectorRow

TARGET = Path(__file__).resolve().parent.parent / "src/frontdesk/knowledge" / DEMO_VECTORS


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/demo.db"
        migrate(url)
        store = Store(create_store_engine(url))
        ingest_demo(store)
        encoder = MiniLmQuestionEncoder()
        embed_missing(store, encoder)
        with store.session() as session:
            rows = session.execute(
                select(KnowledgeVectorRow.text_sha256, KnowledgeVectorRow.vector)
                .where(KnowledgeVectorRow.encoder == encoder.name)
                .order_by(KnowledgeVectorRow.text_sha256)
            ).all()
        store.engine.dispose()
    keys = np.array([key for key, _ in rows])
    vectors = np.stack([np.frombuffer(blob, dtype=np.float32) for _, blob in rows])
    # float16 halves the file; cosines move by well under 0.001.
    np.savez_compressed(TARGET, encoder=encoder.name, keys=keys, vectors=vectors.astype(np.float16))
    print(f"wrote {len(keys)} vectors to {TARGET}")


if __name__ == "__main__":
    main()
