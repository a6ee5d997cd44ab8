"""The real-time agent with a language model choosing tools, against a local OpenAI-protocol
server: the tools' rules hold whatever the model asks for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from fake_openai import FakeOpenAI, say, serve, slow, tool_call
from frontdesk.agents.realtime.llm import LlmRealtimeAgent
from frontdesk.config import load_settings
from frontdesk.runtime.services import Services, build_services
from frontdesk.store.tables import LlmCallRow, SupportCaseRow
from realtime_chat import DEMO, Chat, find, orders_of
from server import free_port


@pytest.fixture
def budget_ms() -> int:
    """`[realtime] llm_budget_ms`: generous unless a test is about the budget, so that a busy
    machine never turns a scripted model turn into a rule-based one."""
    return 30_000


@pytest.fixture
def llm_chat(
    data_dir: Path, request: pytest.FixtureRequest, budget_ms: int
) -> Iterator[tuple[Chat, FakeOpenAI]]:
    fake = FakeOpenAI(request.param)
    with serve(fake) as url:
        settings = load_settings(
            data_dir=data_dir,
            llm={"provider": "openai", "base_url": url, "model": "test-model", "max_retries": 0},
            realtime={"llm_budget_ms": budget_ms},
        )
        services: Services = build_services(settings)
        assert isinstance(services.pipeline.realtime_agent, LlmRealtimeAgent)
        try:
            yield Chat(services), fake
        finally:
            services.close()


CUSTOMER, ORDER = find("pending")
OTHER_ORDER = next(
    o for c in DEMO.customers if c.user_id != CUSTOMER.user_id for o in orders_of(c)
    if o.status == "pending"
)  # fmt: skip
CANCEL = {"order_id": ORDER.order_id, "reason": "no longer needed"}


@pytest.mark.parametrize(
    "llm_chat",
    [
        [
            tool_call("find_user_id_by_email", email=CUSTOMER.email),
            tool_call("cancel_pending_order", **CANCEL),
            say(f"Shall I cancel {ORDER.order_id} because it is no longer needed? Please say yes."),
            tool_call("cancel_pending_order", **CANCEL),
            say(f"Done, {ORDER.order_id} is cancelled."),
        ]
    ],
    indirect=True,
)
def test_model_cancels_only_after_the_customers_yes(llm_chat: tuple[Chat, FakeOpenAI]) -> None:
    chat, fake = llm_chat
    reply = chat.say("I want to cancel my order")
    assert "Please say yes" in reply
    assert {"find_user_id_by_email", "cancel_pending_order"} <= fake.tool_names_offered()
    assert chat.shop.get_order(ORDER.order_id).status == "pending"  # asked, not acted
    assert "is cancelled" in chat.say("yes")
    assert chat.shop.get_order(ORDER.order_id).status == "cancelled"
    tool_answers = [m for m in fake.requests[2]["messages"] if m["role"] == "tool"]
    assert "confirmation_required" in tool_answers[-1]["content"]
    with chat.services.store.session() as session:
        runs = session.scalars(select(LlmCallRow).where(LlmCallRow.purpose == "realtime")).all()
    assert [(run.outcome, run.model) for run in runs] == [("ok", "test-model")] * 2
    assert all(run.input_tokens > 0 and run.output_tokens > 0 for run in runs)


@pytest.mark.parametrize(
    "llm_chat",
    [
        [
            tool_call("cancel_pending_order", **CANCEL),
            say("I have cancelled it."),
        ]
    ],
    indirect=True,
)
def test_model_cannot_act_before_authentication(llm_chat: tuple[Chat, FakeOpenAI]) -> None:
    chat, fake = llm_chat
    chat.say(f"yes cancel {ORDER.order_id} now", expect_auto=False)
    assert chat.shop.get_order(ORDER.order_id).status == "pending"
    tool_answer = next(m for m in fake.requests[1]["messages"] if m["role"] == "tool")
    assert "not authenticated" in tool_answer["content"]


@pytest.mark.parametrize(
    "llm_chat",
    [
        [
            tool_call("find_user_id_by_email", email=CUSTOMER.email),
            say("Thanks, you're verified."),
            tool_call("get_order_details", order_id=OTHER_ORDER.order_id),
            tool_call(
                "cancel_pending_order", order_id=OTHER_ORDER.order_id, reason="ordered by mistake"
            ),
            say("That order doesn't exist."),
        ]
    ],
    indirect=True,
)
def test_model_cannot_reach_another_customers_order(llm_chat: tuple[Chat, FakeOpenAI]) -> None:
    chat, fake = llm_chat
    chat.say("I want to cancel my order")
    chat.say(f"yes, cancel {OTHER_ORDER.order_id}", expect_auto=False)
    assert chat.shop.get_order(OTHER_ORDER.order_id).status == "pending"
    tool_answers = [m["content"] for m in fake.requests[-1]["messages"] if m["role"] == "tool"]
    assert all(OTHER_ORDER.items[0].name not in answer for answer in tool_answers)
    assert "Order not found" in tool_answers[-2]


@pytest.mark.parametrize("llm_chat", [[{"status": 500}, {"status": 500}]], indirect=True)
def test_provider_failure_falls_back_to_the_rule_based_agent(
    llm_chat: tuple[Chat, FakeOpenAI],
) -> None:
    chat, _ = llm_chat
    reply = chat.say("I want to cancel my order")
    assert "confirm who you are" in reply
    with chat.services.store.session() as session:
        outcomes = session.scalars(
            select(LlmCallRow.outcome).where(LlmCallRow.purpose == "realtime")
        ).all()
    assert outcomes == ["failed"]


@pytest.mark.parametrize(
    "llm_chat",
    # The response agent asks the model first (it declines), then the escalation drafter.
    [[say("NO_ANSWER"), say("Hi! A specialist will review your request for compensation.")]],
    indirect=True,
)  # fmt: skip
def test_escalation_reply_is_drafted_by_the_model_from_the_case(
    llm_chat: tuple[Chat, FakeOpenAI],
) -> None:
    chat, fake = llm_chat
    chat.say("My lawyer says you owe me compensation", expect_auto=False)
    [handoff] = chat.services.store.list_handoffs(tier="specialist")
    assert handoff.packet.case is not None
    assert (
        handoff.packet.case.draft == "Hi! A specialist will review your request for compensation."
    )
    prompt = fake.requests[-1]["messages"][-1]["content"]
    assert "Case summary" in prompt and "compensation beyond a refund" in prompt


def realtime_outcomes(chat: Chat) -> list[str]:
    with chat.services.store.session() as session:
        return list(
            session.scalars(select(LlmCallRow.outcome).where(LlmCallRow.purpose == "realtime"))
        )


def cases(chat: Chat) -> list[SupportCaseRow]:
    with chat.services.store.session() as session:
        return list(session.scalars(select(SupportCaseRow)))


MODEL_ASKS = "Sure! What is the email address on your account?"
LATE = 5.0  # seconds the fake holds a late answer back: far past any budget below


@pytest.mark.parametrize("budget_ms", [1000])
@pytest.mark.parametrize(
    ("llm_chat", "answered_by_model"),
    [([slow(say(MODEL_ASKS), 0)], True), ([slow(say(MODEL_ASKS), LATE)], False)],
    indirect=["llm_chat"],
    ids=["in-time", "late"],
)
def test_a_model_answers_within_its_budget_and_the_rules_past_it(
    llm_chat: tuple[Chat, FakeOpenAI], answered_by_model: bool
) -> None:
    chat, _ = llm_chat
    reply = chat.say("I want to cancel my order")
    if answered_by_model:
        assert reply == MODEL_ASKS
        assert realtime_outcomes(chat) == ["ok"]
    else:
        assert MODEL_ASKS not in reply and "confirm who you are" in reply
        assert realtime_outcomes(chat) == ["over_budget"]


DELIVERED_CUSTOMER, DELIVERED = find("delivered")
MODEL_CASE = {"subject": "Opened by the model", "description": "The box was crushed."}


# A budget of a second, not less: every answer is still 5 s late, and a busy machine still gets
# each turn's request to the fake before the budget runs out (the test reads those requests).
@pytest.mark.parametrize("budget_ms", [1000])
@pytest.mark.parametrize(
    "llm_chat",
    [
        [
            slow(say("Which email is your account under?"), LATE),
            slow(say("Which order arrived damaged?"), LATE),
            slow(tool_call("open_support_case", **MODEL_CASE), LATE),
        ]
    ],
    indirect=True,
)
def test_a_late_model_never_acts(llm_chat: tuple[Chat, FakeOpenAI]) -> None:
    """Every turn is late: the rule-based agent leads the customer to a case, and the case the
    model asked for in the last turn is never opened (a second case would be a second action)."""
    chat, fake = llm_chat
    asked = chat.say("my parcel arrived damaged")
    assert "email address" in asked
    chat.say(f"my email is {DELIVERED_CUSTOMER.email}")
    reply = chat.say(f"order {DELIVERED.order_id}, the box was crushed")
    assert "opened case" in reply
    [case] = cases(chat)
    assert case.subject == f"Problem with order {DELIVERED.order_id}"  # the rule-based agent's
    assert realtime_outcomes(chat) == ["over_budget"] * 3
    assert not any(m["role"] == "tool" for body in fake.requests for m in body["messages"])
    # The model's next turn reads what the rule-based agent said in its place.
    assert f"Assistant: {asked}" in fake.requests[1]["messages"][-1]["content"]


@pytest.mark.parametrize("budget_ms", [1000])
@pytest.mark.parametrize(
    "llm_chat",
    [
        [
            slow(say("Sorry to hear that! What is your email address?"), LATE),
            tool_call("find_user_id_by_email", email=DELIVERED_CUSTOMER.email),
            tool_call("open_support_case", **MODEL_CASE),
            slow(say("I have opened a case for you."), LATE),
        ]
    ],
    indirect=True,
)
def test_an_action_taken_in_time_stands_when_the_reply_is_late(
    llm_chat: tuple[Chat, FakeOpenAI],
) -> None:
    """The model opened the case within the budget and was late writing about it: the case
    stands and is reported in the rule-based agent's words; answering the turn afresh would open
    a second one."""
    chat, _ = llm_chat
    assert "email address" in chat.say("my parcel arrived damaged")  # late: the rules ask
    reply = chat.say(
        f"my email is {DELIVERED_CUSTOMER.email}, order {DELIVERED.order_id}", expect_auto=False
    )
    [case] = cases(chat)
    assert case.subject == MODEL_CASE["subject"]
    assert f"opened case {case.case_id[:8]}" in reply
    assert "I have opened a case for you." not in reply
    assert realtime_outcomes(chat) == ["over_budget", "over_budget"]


def test_a_provider_failure_outside_pydantic_ai_falls_back_too(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow_model_requests: None
) -> None:
    """Bedrock without credentials: botocore raises before any request, not as an AgentRunError."""
    for name in AWS_CREDENTIAL_SOURCES:
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "BOTO_CONFIG"):
        monkeypatch.setenv(name, str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup
    settings = load_settings(
        data_dir=data_dir,
        llm={
            "provider": "bedrock",
            "region": "eu-central-1",
            "base_url": f"http://127.0.0.1:{free_port()}",  # never reached
            "model": "anthropic.claude-haiku-test",
            "max_retries": 0,
        },
    )
    services = build_services(settings)
    try:
        assert isinstance(services.pipeline.realtime_agent, LlmRealtimeAgent)
        assert "confirm who you are" in Chat(services).say("I want to cancel my order")
        with services.store.session() as session:
            outcomes = session.scalars(
                select(LlmCallRow.outcome).where(LlmCallRow.purpose == "realtime")
            ).all()
        assert outcomes == ["failed"]
    finally:
        services.close()


AWS_CREDENTIAL_SOURCES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)
