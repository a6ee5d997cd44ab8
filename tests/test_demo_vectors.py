"""The demo articles' MiniLM vectors shipped in the package (scripts/embed_demo_kb.py writes
them): every passage and every section's question has one, and they are the encoder's own."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

import numpy as np
import pytest
from sqlalchemy import select

from frontdesk.knowledge.dense import (
    DEMO_VECTORS,
    MiniLmQuestionEncoder,
    passage_key,
    question_key,
    section_questions,
    stored_asked,
)
from frontdesk.knowledge.ingest import ingest_demo
from frontdesk.store.database import create_store_engine, migrate
from frontdesk.store.repository import Store
from frontdesk.store.tables import KnowledgeChunkRow

RERUN = "demo articles changed: run `.venv/bin/python scripts/embed_demo_kb.py` and commit"


@pytest.fixture(scope="module")
def demo_texts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Key → text of what the demo articles need vectors for, as ingest_demo chunks them."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo-vectors') / 'demo.db'}"
    migrate(url)
    store = Store(create_store_engine(url))
    ingest_demo(store)
    with store.session() as session:
        chunks = session.execute(
            select(KnowledgeChunkRow.heading, KnowledgeChunkRow.text, KnowledgeChunkRow.asked)
        ).all()
    store.engine.dispose()
    texts: dict[str, str] = {}
    for heading, text, asked in chunks:
        texts[passage_key(heading, text)] = f"{heading}\n{text}"
        for question in section_questions(heading, stored_asked(asked)):
            texts[question_key(question)] = question
    yield texts


@pytest.fixture(scope="module")
def shipped() -> tuple[str, dict[str, np.ndarray]]:
    with (
        resources.files("frontdesk.knowledge").joinpath(DEMO_VECTORS).open("rb") as file,
        np.load(file) as data,
    ):
        vectors = data["vectors"].astype(np.float32)
        return str(data["encoder"]), dict(zip(map(str, data["keys"]), vectors, strict=True))


def drift(texts: dict[str, str], vectors: dict[str, np.ndarray]) -> str | None:
    """What is out of date between the demo texts and the shipped vectors, or None."""
    missing = sorted(texts[key].splitlines()[0] for key in texts.keys() - vectors)
    if missing:
        return f"{RERUN}; no vector for {len(missing)} texts, e.g. {missing[:3]}"
    unused = vectors.keys() - texts.keys()
    if unused:
        return f"{RERUN}; {len(unused)} shipped vectors match no demo text"
    return None


def test_every_demo_passage_and_question_has_a_shipped_vector(
    demo_texts: dict[str, str], shipped: tuple[str, dict[str, np.ndarray]]
) -> None:
    name, vectors = shipped
    assert name == MiniLmQuestionEncoder().name
    assert len(demo_texts) > 100  # the demo articles are there to check
    assert drift(demo_texts, vectors) is None, drift(demo_texts, vectors)


def test_an_edited_demo_article_is_drift(
    demo_texts: dict[str, str], shipped: tuple[str, dict[str, np.ndarray]]
) -> None:
    """What the check above says when a section's text or heading changes."""
    _, vectors = shipped
    heading, text = next(t.split("\n", 1) for t in demo_texts.values() if "\n" in t)
    edited = {k: v for k, v in demo_texts.items() if k != passage_key(heading, text)}
    edited[passage_key(heading, text + " Now also on Sundays.")] = f"{heading}\n{text} Now..."
    found = drift(edited, vectors)
    assert found is not None and "scripts/embed_demo_kb.py" in found and heading in found
    renamed = {**demo_texts, question_key("Brand new question?"): "Brand new question?"}
    assert "Brand new question?" in (drift(renamed, vectors) or "")


def test_shipped_vectors_are_the_encoders_own(
    demo_texts: dict[str, str], shipped: tuple[str, dict[str, np.ndarray]]
) -> None:
    _, vectors = shipped
    assert all(abs(np.linalg.norm(v) - 1) < 0.01 for v in vectors.values())
    question = next(key for key, text in demo_texts.items() if "\n" not in text)
    passage = next(key for key, text in demo_texts.items() if "\n" in text)
    fresh = MiniLmQuestionEncoder().encode([demo_texts[question], demo_texts[passage]])
    for key, vector in zip((question, passage), fresh, strict=True):
        cosine = float(vector @ vectors[key]) / float(np.linalg.norm(vectors[key]))
        assert cosine > 0.99, f"{RERUN}; {demo_texts[key][:60]!r}: cosine {cosine:.4f}"
    # Not any two vectors are this close: the question and the passage differ.
    assert float(vectors[question] @ vectors[passage]) < 0.99
