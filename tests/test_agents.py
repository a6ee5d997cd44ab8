"""Intent, response and coordinator agents on their own."""

from __future__ import annotations

from datetime import UTC, datetime

from frontdesk.agents.response import ResponseAgent
from frontdesk.contracts import DraftReply, InboundMessage, IntentPrediction
from frontdesk.knowledge.chunking import split_markdown, split_plain_text
from frontdesk.knowledge.index import Passage, TfidfIndex
from frontdesk.training.intent_model import Example, read_examples, train


def intent(label: str, confidence: float) -> IntentPrediction:
    return IntentPrediction(
        label=label, confidence=confidence, model_version="t", out_of_scope=label == "out_of_scope"
    )


def draft(grounded: bool = True) -> DraftReply:
    return DraftReply(text="x", kind="knowledge", grounded=grounded, agent="t")


def message(text: str) -> InboundMessage:
    return InboundMessage(
        id="m", conversation_id="c", channel="api", text=text, received_at=datetime.now(UTC)
    )


def test_seed_classifier_learns_the_shop_intents() -> None:
    model = train(read_examples())
    assert len(model.labels) >= 21
    assert "out_of_scope" in model.labels
    predictions = model.predict(
        ["where is my order?", "I'd like to return these boots", "what is the capital of peru"]
    )
    assert [p.label for p in predictions] == ["track_order", "return_item", "out_of_scope"]
    assert predictions[2].out_of_scope
    for prediction in predictions:
        total = prediction.confidence + sum(a.confidence for a in prediction.alternatives)
        assert total <= 1.0 + 1e-9
        assert prediction.model_version == model.version


def test_model_version_follows_the_training_data() -> None:
    examples = [Example(f"track {i}", "track") for i in range(3)]
    examples += [Example(f"cancel {i}", "cancel") for i in range(3)]
    assert train(examples).version == train(examples).version
    assert train(examples).version != train([*examples, Example("stop it", "cancel")]).version


def passage(chunk_id: str, heading: str, text: str) -> Passage:
    return Passage(chunk_id, "demo:x.md", heading.split(" › ")[0], heading, text, 0.0)


INDEX = TfidfIndex(
    [
        passage("r", "Returns › How long do I have?", "You have 30 days from delivery. Keep tags."),
        passage("s", "Shipping › How fast?", "Standard shipping takes 3–5 business days."),
    ]
)


def test_response_agent_answers_from_the_best_passage_and_cites_it() -> None:
    agent = ResponseAgent(INDEX, "Harbor Goods", min_score=0.05)
    [reply] = agent.draft(
        [message("how long do I have to return something")], [intent("return_item", 1)]
    )
    assert reply.grounded
    assert reply.text.startswith("You have 30 days from delivery.")
    assert reply.sources[0].chunk_id == "r"
    assert "Returns › How long do I have?" in reply.text


def test_response_agent_admits_when_nothing_matches() -> None:
    agent = ResponseAgent(INDEX, "Harbor Goods", min_score=0.5)
    [reply] = agent.draft([message("zebra")], [intent("warranty", 1)])
    assert not reply.grounded


def test_templates_for_small_talk_and_out_of_scope_name_the_company() -> None:
    agent = ResponseAgent(INDEX, "Acme", min_score=0.05)
    for label in ("small_talk", "out_of_scope"):
        [reply] = agent.draft([message("hello")], [intent(label, 1)])
        assert reply.kind == "template" and "Acme" in reply.text


def test_markdown_splits_by_heading_path() -> None:
    article = split_markdown(
        "# Returns\nintro\n## Window\n30 days.\n### Exceptions\nFinal sale.\n## Cost\nFree.\n", "x"
    )
    assert article.title == "Returns"
    assert [(c.heading, c.text) for c in article.chunks] == [
        ("Returns", "intro"),
        ("Returns › Window", "30 days."),
        ("Returns › Window › Exceptions", "Final sale."),
        ("Returns › Cost", "Free."),
    ]


def test_plain_text_splits_by_paragraph() -> None:
    article = split_plain_text("Gift cards\n\nThey never expire.\n\nNo cash value.", "x")
    assert article.title == "Gift cards"
    assert [c.text for c in article.chunks] == ["They never expire.", "No cash value."]


def test_batch_drafts_keep_the_order_of_their_messages() -> None:
    agent = ResponseAgent(INDEX, "Acme", min_score=0.05)
    drafts = agent.draft(
        [message("hi"), message("how fast is shipping"), message("weather?"), message("return")],
        [
            intent("small_talk", 1),
            intent("delivery_options", 1),
            intent("out_of_scope", 1),
            intent("return_item", 1),
        ],
    )
    assert [d.kind for d in drafts] == ["template", "knowledge", "template", "knowledge"]
    assert drafts[1].sources[0].chunk_id == "s"
    assert drafts[3].sources[0].chunk_id == "r"
