"""Information or action, and language, through the real agents: the intent agent fills in what
the request-kind model and the language check say, and the real-time agent leaves a question
about a policy to the articles while it takes a request to act on an order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from frontdesk.agents.intent import IntentAgent
from frontdesk.agents.realtime.agent import GOALS, RealtimeAgent, asks_to_act
from frontdesk.agents.realtime.dialogue import DialogueState
from frontdesk.commerce.embedded import EmbeddedShop
from frontdesk.commerce.loading import replace_shop
from frontdesk.config import load_settings
from frontdesk.contracts import InboundMessage, IntentPrediction
from frontdesk.language import LanguageDetector
from frontdesk.runtime.services import open_store
from frontdesk.tools.toolbox import Toolbox, ToolState
from frontdesk.training.request_kind import shipped_request_model
from realtime_chat import DEMO


def message(text: str, number: int = 1) -> InboundMessage:
    return InboundMessage(
        id=f"m{number}",
        conversation_id="c1",
        channel="web",
        text=text,
        received_at=datetime(2026, 12, 2, tzinfo=UTC),
    )


class FixedClassifier:
    """The boundary of the intent model: one label for every text, with a known confidence."""

    version = "fixed-1"

    def __init__(self, label: str = "cancel_order", confidence: float = 0.95) -> None:
        self.label, self.confidence = label, confidence
        self.out_of_scope = label == "out_of_scope"
        self.seen: list[list[str]] = []

    @property
    def labels(self) -> list[str]:
        return [self.label, "out_of_scope"]

    def predict(self, texts: list[str]) -> list[IntentPrediction]:
        self.seen.append(texts)
        return [
            IntentPrediction(
                label=self.label,
                confidence=self.confidence,
                model_version=self.version,
                out_of_scope=self.out_of_scope,
            )
            for _ in texts
        ]


class GivenRequestKind:
    def __init__(self, probabilities: dict[str, float]) -> None:
        self.probabilities = probabilities

    def action_probability(self, texts: list[str]) -> list[float]:
        return [self.probabilities[text] for text in texts]


class GivenLanguages:
    def __init__(self, languages: dict[str, str]) -> None:
        self.languages = languages

    def unsupported_language(self, text: str) -> str | None:
        return self.languages.get(text)

    def short_unsupported_language(self, text: str) -> str | None:
        return None


def test_the_intent_agent_fills_in_request_kind_and_language() -> None:
    texts = ["cancel it", "wie storniere ich", "how do cancellations work", "cancel now"]
    agent = IntentAgent(
        FixedClassifier(),
        request_kind=GivenRequestKind({texts[0]: 0.83456, texts[1]: 0.5, texts[2]: -0.2,
                                       texts[3]: 1.3}),
        languages=GivenLanguages({texts[1]: "de"}),
    )  # fmt: skip
    found = agent.classify([message(text, i) for i, text in enumerate(texts)])
    assert [p.action_probability for p in found] == [0.8346, 0.5, 0.0, 1.0]  # clipped to 0-1
    assert [p.language for p in found] == [None, "de", None, None]
    assert {(p.label, p.confidence) for p in found} == {("cancel_order", 0.95)}
    assert agent.labels == ["cancel_order", "out_of_scope"]


def test_without_the_signals_both_stay_unknown() -> None:
    classifier = FixedClassifier()
    found = IntentAgent(classifier).classify([message("cancel it"), message("storniere", 2)])
    assert [(p.action_probability, p.language) for p in found] == [(None, None), (None, None)]
    assert classifier.seen == [["cancel it", "storniere"]]  # one batch
    assert IntentAgent(classifier).classify([]) == []


@pytest.fixture(scope="module")
def realtime(tmp_path_factory: pytest.TempPathFactory) -> RealtimeAgent:
    """The rules agent over the embedded demo shop."""
    data_dir = tmp_path_factory.mktemp("routing") / "data"
    store = open_store(load_settings(data_dir=data_dir))
    replace_shop(store, DEMO)
    shop = EmbeddedShop(store)
    return RealtimeAgent(Toolbox(shop, shop), frozenset({"contact_human"}))


def goal_intent(action_probability: float | None, label: str = "cancel_order") -> IntentPrediction:
    return IntentPrediction(
        label=label,
        confidence=0.95,
        model_version="test",
        out_of_scope=False,
        action_probability=action_probability,
    )


UNDER_WAY = DialogueState(goal="cancel", tools=ToolState(user_id="u1")).model_dump(mode="json")


@pytest.mark.parametrize(
    ("action_probability", "state", "wanted"),
    [
        (0.1, None, False),  # a question about the policy: for the articles
        (0.49, None, False),
        (0.5, None, True),
        (0.9, None, True),
        (None, None, True),  # without a request-kind signal every goal is taken as a request
        (0.1, UNDER_WAY, True),  # a dialogue under way keeps it
        (0.9, UNDER_WAY, True),
        (None, UNDER_WAY, True),
    ],
)
def test_a_goal_is_taken_only_as_a_request_to_act(
    realtime: RealtimeAgent, action_probability: float | None, state: dict | None, wanted: bool
) -> None:
    intent = goal_intent(action_probability)
    assert realtime.wants(message("is there a fee to cancel"), intent, state) is wanted
    assert asks_to_act(intent) is (action_probability is None or action_probability >= 0.5)


@pytest.mark.parametrize("label", sorted(GOALS))
def test_every_goal_waits_for_a_request_to_act(realtime: RealtimeAgent, label: str) -> None:
    asked = message("how does this work in general")
    assert not realtime.wants(asked, goal_intent(0.1, label), None)
    assert realtime.wants(asked, goal_intent(0.9, label), None)


INFORMATION = ["whats the policy on returns", "is there a fee to cancel",
               "how long do refunds usually take"]  # fmt: skip
ACTION = ["I want to return my boots", "cancel order #W4821930 please", "cancel an order"]


def test_the_shipped_request_kind_model_tells_questions_from_requests() -> None:
    model = shipped_request_model()
    found = dict(zip(INFORMATION + ACTION, model.action_probability(INFORMATION + ACTION),
                     strict=True))  # fmt: skip
    assert {text: p for text, p in found.items() if text in INFORMATION and p >= 0.5} == {}
    assert {text: p for text, p in found.items() if text in ACTION and p <= 0.5} == {}


def test_questions_go_to_the_articles_and_requests_to_the_agent(realtime: RealtimeAgent) -> None:
    """The intent agent with the shipped request-kind model, as a first start builds it; the
    intent model's boundary fixed at a confident goal, so only the request kind decides."""
    agent = IntentAgent(FixedClassifier("return_item"), request_kind=shipped_request_model())
    texts = INFORMATION + ACTION
    intents = agent.classify([message(text, i) for i, text in enumerate(texts)])
    wanted = [realtime.wants(message(t), i, None) for t, i in zip(texts, intents, strict=True)]
    assert wanted == [False] * len(INFORMATION) + [True] * len(ACTION)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("label", "text", "language"),
    [
        ("out_of_scope", "Esqueci-me da palavra-passe.", "pt"),  # a short message nobody placed
        ("recover_password", "Esqueci-me da palavra-passe.", None),  # understood: answered
        ("out_of_scope", "thx", None),
        ("out_of_scope", "bye bye", None),
        ("out_of_scope", "haha ok fair", None),
        ("out_of_scope", "haha thanks", None),  # py3langid: Sesotho 0.56
        ("out_of_scope", "i wanna cancel", None),  # py3langid: Hausa 0.75
    ],
)
def test_a_short_message_reads_as_its_language_only_when_nothing_else_placed_it(
    detector: LanguageDetector, label: str, text: str, language: str | None
) -> None:
    [found] = IntentAgent(FixedClassifier(label), languages=detector).classify([message(text)])
    assert found.language == language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hallo, ich habe meine Bestellung vor zwei Wochen aufgegeben und sie ist immer noch "
         "nicht angekommen. Wo ist mein Paket?", "de"),
        ("Bonjour, je voudrais annuler ma commande, car je l'ai passée par erreur hier soir.",
         "fr"),
        ("where is my order??", None),
        ("#W1234567", None),
    ],
)  # fmt: skip
def test_the_language_reaches_the_intent(
    detector: LanguageDetector, text: str, language: str | None
) -> None:
    [found] = IntentAgent(FixedClassifier(), languages=detector).classify([message(text)])
    assert found.language == language
    assert detector.unsupported_language(text) == language
