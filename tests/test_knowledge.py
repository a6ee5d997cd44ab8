"""Retrieval (BM25 on passages from either engine, stored vectors, hybrid ranking) and the
response agent."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from sqlalchemy import func, inspect, select

from frontdesk.agents.response import ResponseAgent
from frontdesk.config import load_settings
from frontdesk.contracts import DraftReply, GroundedAnswer, InboundMessage, IntentPrediction
from frontdesk.embedding.minilm import packaged_encoder
from frontdesk.knowledge.chunking import split_markdown
from frontdesk.knowledge.dense import MiniLmEncoder, MiniLmQuestionEncoder, embed_missing
from frontdesk.knowledge.index import SENTENCES_ENCODED, HybridIndex, Passage, RefreshingIndex
from frontdesk.knowledge.ingest import ingest_demo, ingest_path
from frontdesk.knowledge.lexical import Bm25
from frontdesk.knowledge.terms import respelled, stems
from frontdesk.runtime.services import open_store
from frontdesk.store.database import alembic_config
from frontdesk.store.repository import Store
from frontdesk.store.tables import KnowledgeVectorRow

ARTICLES = {
    "returns.md": "# Returns\n## How long do I have?\nYou have 30 days from delivery. Keep tags.\n"
    "## Who pays for return shipping?\nReturn shipping is free for damaged items.\n",
    "shipping.md": "# Shipping\n## How fast?\nStandard shipping takes 3–5 business days.\n"
    "## Tracking\nFollow your package with the link in the shipping email.\n"
    "## Parcel lockers\nParcel lockers are not available in every town.\n",
    "refunds.md": "# Refunds\n## How long does a refund take?\nRefunds reach your card within "
    "5–7 business days after we receive the return.\n",
}
# Words a sentence model would treat as the same idea; the test encoder below knows only these.
CONCEPTS = [
    {"parcel", "package", "shipment"},
    {"locate", "track", "follow"},
    {"refund", "money"},
    {"return", "send"},
    {"voucher", "credit"},
]


class ConceptEncoder:
    """A stand-in for a sentence model: one dimension per concept, so synonyms meet."""

    name = "test-concepts"

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        rows = np.zeros((len(texts), len(CONCEPTS) + 1), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            words = stems(text)
            row[:-1] = [len(words & {w for w in concept}) for concept in CONCEPTS]
            row[-1] = 0.1  # nothing in common still leaves a small cosine
            row /= np.linalg.norm(row)
        return rows


def write_articles(folder: Path, articles: dict[str, str]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    options = {"data_dir": tmp_path / "data"}
    if request.param == "postgres":
        options["store"] = {"url": request.getfixturevalue("postgres_url")}
    opened = open_store(load_settings(**options))
    ingest_path(opened, write_articles(tmp_path / "kb", ARTICLES))
    yield opened
    opened.engine.dispose()


def heads(passages: list[Passage]) -> list[str]:
    return [passage.heading for passage in passages]


def test_bm25_ranks_by_relevance_whichever_engine_stores_the_passages(store: Store) -> None:
    index = HybridIndex(store)
    [refund, nothing, tracking] = index.search_many(
        ["how long does a refund take", "zebra crossing", "tracking my package"], k=3
    )
    assert heads(refund)[0] == "Refunds › How long does a refund take?"
    assert 0 < refund[0].score <= 1 and refund[0].score > refund[-1].score
    assert nothing == []
    assert heads(tracking)[0] == "Shipping › Tracking"


def test_a_misspelt_question_is_searched_as_meant_and_the_encoder_reads_it_mended(
    store: Store,
) -> None:
    encoder = ConceptEncoder()
    embed_missing(store, encoder)
    encoder.encoded.clear()
    index = HybridIndex(store, encoder, dense_weight=0.5)
    [found] = index.search_many(["how long does a refnd take"], k=1)
    assert heads(found) == ["Refunds › How long does a refund take?"]
    assert encoder.encoded == ["how long does a refund take"]


@pytest.mark.parametrize(
    ("text", "mended"),
    [
        ("whats the waranty on the pan?", "whats the warranty on the pan?"),
        ("Reciept please", "Receipt please"),
        ("my spoon broke", "my spoon broke"),  # an English word the articles lack
        ("it shopped yesterday", "it shopped yesterday"),  # "shop" + "ped"
        ("the tweak I asked for", "the tweak I asked for"),  # "weak" differs in its first letter
        ("sent to Recieptville", "sent to Recieptville"),  # a name
        ("refnd", "refund"),
        ("rfnd", "rfnd"),  # under five letters: too many words lie one edit away
    ],
)
def test_respelling_mends_only_what_is_no_word(text: str, mended: str) -> None:
    words = {"warranty": 3, "receipt": 2, "refund": 5, "shipped": 4, "weak": 1, "spool": 1}
    english = {"spoon", "shop", "tweak", "please", "whats", "pan", "yesterday", "broke", "asked"}
    assert respelled(text, words, english) == mended


def test_a_word_said_twice_weighs_more_than_a_word_said_once() -> None:
    bm25 = Bm25([("Returns", "Send the parcel back."), ("Shipping", "Your parcel ships today.")])
    assert bm25.scores("return the parcel, I want to return it")[0] > bm25.scores("parcel")[0]
    returns, shipping = bm25.scores("ship or return, ship ship")
    assert shipping > returns > 0


def test_a_heading_word_counts_more_than_the_same_word_in_the_text() -> None:
    bm25 = Bm25([("Gift cards", "How to pay."), ("Payment", "Gift cards are accepted.")])
    in_heading, in_text = bm25.scores("gift")
    assert in_heading > in_text > 0


def test_bm25_of_nothing_shared_or_no_passages_is_zero() -> None:
    assert not Bm25([("Returns", "Thirty days.")]).scores("zebra !!").any()
    assert Bm25([]).scores("anything").shape == (0,)


def test_the_full_text_tables_migration_goes_both_ways(store: Store) -> None:
    """0007 drops the engines' full-text index (ranking is in process); downgrading rebuilds it
    from the stored passages."""
    config = alembic_config(store.engine.url.render_as_string(hide_password=False))
    command.downgrade(config, "0006")
    command.upgrade(config, "head")
    names = inspect(store.engine).get_table_names()
    columns = {column["name"] for column in inspect(store.engine).get_columns("kb_chunks")}
    assert "kb_chunks_fts" not in names and "search_vector" not in columns
    [found] = HybridIndex(store).search_many(["refund"], k=1)
    assert heads(found) == ["Refunds › How long does a refund take?"]


def test_vectors_are_made_once_per_passage_text_and_pruned(store: Store, tmp_path: Path) -> None:
    encoder = ConceptEncoder()
    # 6 passages and the 4 questions they answer ("Tracking" and "Parcel lockers" name topics)
    assert embed_missing(store, encoder) == 10
    assert embed_missing(store, encoder) == 0
    changed = {"refunds.md": ARTICLES["refunds.md"].replace("5–7", "3–5")}
    ingest_path(store, write_articles(tmp_path / "kb", changed))
    encoder.encoded.clear()
    assert embed_missing(store, encoder) == 1
    assert encoder.encoded == [
        "Refunds › How long does a refund take?\nRefunds reach your card within 3–5 business "
        "days after we receive the return."
    ]
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(KnowledgeVectorRow)) == 10


def test_hybrid_ranking_finds_what_full_text_misses(store: Store) -> None:
    encoder = ConceptEncoder()
    embed_missing(store, encoder)
    question = ["locate my parcel"]
    [lexical] = HybridIndex(store, encoder, dense_weight=0).search_many(question, k=2)
    [dense] = HybridIndex(store, encoder, dense_weight=1).search_many(question, k=2)
    [hybrid] = HybridIndex(store, encoder, dense_weight=0.9).search_many(question, k=2)
    assert heads(lexical) == ["Shipping › Parcel lockers"]
    assert heads(dense)[0] == "Shipping › Tracking"
    assert heads(hybrid) == ["Shipping › Tracking", "Shipping › Parcel lockers"]


def test_a_long_question_is_encoded_sentence_by_sentence_and_bounded(store: Store) -> None:
    encoder = ConceptEncoder()
    embed_missing(store, encoder)
    index = HybridIndex(store, encoder, dense_weight=1)
    encoder.encoded.clear()
    email = "Hi there team.\nI love your shop! Where can I locate my parcel? Thanks"
    index.search_many([email], k=1)
    assert encoder.encoded == [
        "Hi there team.",
        "I love your shop!",
        "Where can I locate my parcel?",
        email,  # whole, for the sections' questions and texts
    ]  # "Thanks" is too short to say what the message is about
    encoder.encoded.clear()
    index.search_many([" ".join(f"Sentence number {n}." for n in range(80))], k=1)
    assert len(encoder.encoded) == SENTENCES_ENCODED + 1


def test_workers_follow_ingested_changed_and_removed_articles(store: Store, tmp_path: Path) -> None:
    now = [0.0]
    index = RefreshingIndex(
        store, lambda: HybridIndex(store), every_seconds=5, clock=lambda: now[0]
    )
    question = ["do you wrap gifts"]

    def found_after(seconds: float) -> list[str]:
        now[0] += seconds
        index.search_many(question, k=1)  # looks at the store, rebuilds in the background
        # A rebuild holds this lock from the look that starts it until the new index is in
        # place, so taking it waits for exactly that rebuild (or returns at once if none began).
        assert index._rebuilding.acquire(timeout=30), "the rebuild never finished"
        index._rebuilding.release()
        [found] = index.search_many(question, k=1)
        return heads(found)

    assert found_after(0) != ["Gift wrap"]
    kb = write_articles(tmp_path / "kb", {"gifts.md": "# Gift wrap\nWe wrap gifts for $3.\n"})
    ingest_path(store, kb)
    assert found_after(1) != ["Gift wrap"]  # not looked yet: at most once per 5 seconds
    assert found_after(5) == ["Gift wrap"]
    (kb / "gifts.md").unlink()
    ingest_path(store, kb)
    assert found_after(5) != ["Gift wrap"]


def test_without_stored_vectors_the_encoder_is_never_called(store: Store) -> None:
    encoder = ConceptEncoder()
    [found] = HybridIndex(store, encoder, dense_weight=0.5).search_many(["refund"], k=1)
    assert heads(found) == ["Refunds › How long does a refund take?"]
    assert encoder.encoded == []


@pytest.mark.slow
def test_minilm_vectors_rank_a_paraphrase_first(tmp_path: Path) -> None:
    demo = open_store(load_settings(data_dir=tmp_path / "data"))
    ingest_demo(demo)
    encoder = MiniLmEncoder()
    assert embed_missing(demo, encoder) > 100
    [found] = HybridIndex(demo, encoder, dense_weight=1).search_many(
        ["the parcel never showed up"], k=3
    )
    assert any(passage.source == "demo:lost-or-late-packages.md" for passage in found)


@pytest.mark.slow
def test_serving_encodes_questions_like_ingest_encodes_passages() -> None:
    encoder = MiniLmQuestionEncoder()
    # Texts of 255 to 258 tokens, [CLS] and [SEP] included: either side of the 256-token cut.
    at_the_cut = [" ".join(["parcel"] * (total - 2)) for total in (255, 256, 257, 258)]
    assert [len(packaged_encoder().tokenizer.encode(t).ids) for t in at_the_cut] == [
        255,
        256,
        257,
        258,
    ]
    long_question = " ".join(["my parcel has not arrived and nobody answers my emails"] * 40)
    texts = ["the parcel never showed up", "", long_question, *at_the_cut]
    passages = MiniLmEncoder().encode(texts)
    assert encoder.name == MiniLmEncoder().name
    assert np.abs(passages - encoder.encode(texts)).max() < 1e-5


@pytest.mark.slow
def test_a_serving_process_searches_vectors_without_importing_torch(tmp_path: Path) -> None:
    store = open_store(load_settings(data_dir=tmp_path / "data"))
    ingest_path(store, write_articles(tmp_path / "kb", ARTICLES))
    embed_missing(store, MiniLmEncoder())  # as `frontdesk ingest` does
    # No word of the question is in any article: only the vectors can find the passage.
    script = f"""
import sys
from pathlib import Path
from frontdesk.config import load_settings
from frontdesk.runtime.services import knowledge_index, open_store
settings = load_settings(data_dir=Path({str(tmp_path / "data")!r}))
[found] = knowledge_index(settings, open_store(settings)).search_many(["where is my shipment"], k=1)
print(Path(found[0].source).name if found else "nothing", "torch" in sys.modules)
"""
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert run.stdout.split() == ["shipping.md", "False"], run.stdout + run.stderr


# The response agent, on the SQLite store.


def message(text: str) -> InboundMessage:
    return InboundMessage(
        id="m", conversation_id="c", channel="api", text=text, received_at=datetime.now(UTC)
    )


def intent(label: str, confidence: float = 1.0) -> IntentPrediction:
    return IntentPrediction(
        label=label, confidence=confidence, model_version="t", out_of_scope=label == "out_of_scope"
    )


@pytest.fixture
def index(tmp_path: Path) -> HybridIndex:
    opened = open_store(load_settings(data_dir=tmp_path / "data"))
    ingest_path(opened, write_articles(tmp_path / "kb", ARTICLES))
    return HybridIndex(opened)


def test_reply_quotes_the_best_sentences_and_cites_their_passage(index: HybridIndex) -> None:
    agent = ResponseAgent(index, "Harbor Goods", min_score=0.05)
    [reply] = agent.draft(
        [message("how long do I have to return something")], [intent("return_item", 0.95)]
    )
    assert reply.grounded and reply.kind == "knowledge"
    assert reply.text.startswith("You have 30 days from delivery.")
    assert reply.text.endswith("Source: Returns › How long do I have?")
    assert reply.sources[0].heading == "Returns › How long do I have?"
    assert reply.confidence == 0.95


def test_weak_retrieval_lowers_the_confidence(index: HybridIndex) -> None:
    agent = ResponseAgent(index, "Harbor Goods", min_score=0.05)
    strong, weak = agent.draft(
        [message("how long does a refund take"), message("refund for my broken sofa cushions")],
        [intent("refund_status", 0.95), intent("refund_status", 0.95)],
    )
    assert strong.confidence == 0.95
    assert weak.confidence is not None and weak.confidence < 0.9
    assert weak.sources[0].score < strong.sources[0].score


def test_reply_admits_when_nothing_matches(index: HybridIndex) -> None:
    agent = ResponseAgent(index, "Harbor Goods", min_score=0.5)
    [reply] = agent.draft([message("zebra")], [intent("warranty")])
    assert not reply.grounded
    assert reply.confidence == 0


def test_templates_for_small_talk_and_out_of_scope_name_the_company(index: HybridIndex) -> None:
    agent = ResponseAgent(index, "Acme", min_score=0.05)
    for label in ("small_talk", "out_of_scope"):
        [reply] = agent.draft([message("hello")], [intent(label)])
        assert reply.kind == "template" and "Acme" in reply.text


def test_thanks_and_goodbyes_get_a_goodbye_not_the_greeting(index: HybridIndex) -> None:
    agent = ResponseAgent(index, "Acme", min_score=0.05)
    texts = ["got it, thanks", "ok thank you bye", "cheers!", "hi there", "how's it going?"]
    drafts = agent.draft([message(t) for t in texts], [intent("small_talk")] * len(texts))
    greeting = [d.text.startswith("Hi! I'm the Acme assistant") for d in drafts]
    assert greeting == [False, False, False, True, True]
    assert all(d.kind == "template" for d in drafts)
    assert drafts[0].text.startswith("You're welcome")


def test_batch_drafts_keep_the_order_of_their_messages(index: HybridIndex) -> None:
    agent = ResponseAgent(index, "Acme", min_score=0.05)
    drafts = agent.draft(
        [message("hi"), message("how fast is shipping"), message("weather?"), message("return")],
        [intent("small_talk"), intent("delivery_options"), intent("out_of_scope"), intent("x")],
    )
    assert [d.kind for d in drafts] == ["template", "knowledge", "template", "knowledge"]
    assert drafts[1].sources[0].heading == "Shipping › How fast?"
    assert drafts[3].sources[0].heading.startswith("Returns")


class ScriptedAnswerer:
    """Answers from the first passage it is given, or declines when told to."""

    def __init__(self, declines: bool) -> None:
        self.declines = declines
        self.questions: list[str] = []

    def answer(
        self, question: str, passages: list[Passage], on_text: object = None
    ) -> GroundedAnswer | None:
        self.questions.append(question)
        if self.declines:
            return None
        return GroundedAnswer(
            text="Within 30 days.", citations=[passages[0].chunk_id], agent="scripted"
        )


def test_an_answerer_writes_the_reply_and_none_falls_back_to_extractive(
    index: HybridIndex,
) -> None:
    question = [message("how long do I have to return something")]
    answering = ScriptedAnswerer(declines=False)
    [reply] = ResponseAgent(index, "Acme", 0.05, answering).draft(question, [intent("x", 0.95)])
    assert (reply.text, reply.agent, reply.grounded) == ("Within 30 days.", "scripted", True)
    assert heads_of(reply) == ["Returns › How long do I have?"]
    assert answering.questions == ["how long do I have to return something"]
    declining = ScriptedAnswerer(declines=True)
    [fallback] = ResponseAgent(index, "Acme", 0.05, declining).draft(question, [intent("x")])
    assert fallback.text.startswith("You have 30 days")
    assert declining.questions


def heads_of(reply: DraftReply) -> list[str]:
    return [source.heading for source in reply.sources]


ASKED_ARTICLE = (
    "# Gift Cards\n## Do gift cards expire?\n<!-- asked\nhow long is my voucher good for\n"
    "is there a use-by on store credit\n-->\nNo. A gift card keeps its balance for ever.\n"
    "## Can I top up a gift card?\nYes, from the gift card page.\n"
)


def test_other_phrasings_of_a_section_question_are_kept_apart_from_its_text() -> None:
    article = split_markdown(ASKED_ARTICLE, "gift-cards")
    expires, top_up = article.chunks
    assert expires.text == "No. A gift card keeps its balance for ever."
    assert expires.asked == ("how long is my voucher good for", "is there a use-by on store credit")
    assert top_up.asked == ()
    one_line = split_markdown("# A\n## Fees\n<!-- asked: what do you charge -->\nNone.\n", "a")
    assert one_line.chunks[0].asked == ("what do you charge",)
    assert one_line.chunks[0].text == "None."


def test_a_customers_wording_finds_the_section_through_its_other_phrasings(
    store: Store, tmp_path: Path
) -> None:
    """ "voucher" is in no section's heading or text, only in one section's other phrasings: it
    counts lexically, and the phrasing's vector is its question's (max over phrasings)."""
    ingest_path(store, write_articles(tmp_path / "kb", {**ARTICLES, "gift.md": ASKED_ARTICLE}))
    [lexical] = HybridIndex(store).search_many(["voucher good for how long"], k=1)
    assert heads(lexical) == ["Gift Cards › Do gift cards expire?"]
    assert lexical[0].asked[0] == "how long is my voucher good for"
    encoder = ConceptEncoder()
    embed_missing(store, encoder)
    assert "is there a use-by on store credit" in encoder.encoded
    [dense] = HybridIndex(store, encoder, dense_weight=1).search_many(["a voucher"], k=1)
    assert heads(dense) == ["Gift Cards › Do gift cards expire?"]
