"""Each shop backend declares the changes it can make; the agents are offered only those tools.

Shopify is the backend with gaps: the adapter runs unchanged against the local Shopify stand-in
(tests/fake_servers.py), the model is the local OpenAI-protocol server (tests/fake_openai.py).
"""

from __future__ import annotations

import pytest

from fake_openai import FakeOpenAI, say
from fake_openai import serve as serve_model
from fake_servers import FakeShopify
from frontdesk.agents.realtime.agent import RealtimeAgent
from frontdesk.agents.realtime.dialogue import DialogueState
from frontdesk.agents.realtime.llm import LlmRealtimeAgent
from frontdesk.clock import utcnow
from frontdesk.commerce.base import CHANGE_NAMES, EVERY_CHANGE, Change
from frontdesk.commerce.embedded import EmbeddedShop
from frontdesk.commerce.http import RetryPolicy
from frontdesk.commerce.models import SupportCase
from frontdesk.commerce.shopify import ShopifyCommerce
from frontdesk.config import LlmSettings
from frontdesk.contracts import InboundMessage, IntentPrediction
from frontdesk.llm.models import build_model
from frontdesk.llm.usage import UsageMeter
from frontdesk.tools.toolbox import TOOLS, VERIFY_CODE, Toolbox, ToolState, Turn

SHOPIFY_CANNOT = {
    Change.MODIFY_PENDING_ORDER_ITEMS,
    Change.MODIFY_PENDING_ORDER_PAYMENT,
    Change.EXCHANGE_DELIVERED_ORDER_ITEMS,
}

LOOKUPS = {"FindCustomers", "GetCustomer", "FindOrder", "GetProduct", "ProductOfVariant"}


class NoCrm:
    def open_case(
        self, user_id: str | None, subject: str, description: str, key: str
    ) -> SupportCase:
        raise AssertionError("no case is opened in these tests")


@pytest.fixture
def shopify_url(shopify_server: tuple[FakeShopify, str]) -> str:
    fake, url = shopify_server
    fake.reset()
    return url


def shopify(url: str, storefront: bool = False) -> ShopifyCommerce:
    return ShopifyCommerce(
        url,
        FakeShopify.admin_token,
        api_version=FakeShopify.version,
        storefront_access_token=FakeShopify.storefront_token if storefront else None,
        retry=RetryPolicy(attempts=1),
    )


def test_every_change_has_its_tool_and_its_name_for_a_refusal() -> None:
    assert {tool.capability for tool in TOOLS.values()} - {None} == EVERY_CHANGE
    assert set(CHANGE_NAMES) == EVERY_CHANGE
    assert all(tool.name == tool.capability for tool in TOOLS.values() if tool.capability)


def test_backends_declare_what_they_can_change(shopify_url: str) -> None:
    assert EmbeddedShop.capabilities == EVERY_CHANGE
    with shopify(shopify_url, storefront=True) as full:
        assert full.capabilities == EVERY_CHANGE - SHOPIFY_CANNOT
    with shopify(shopify_url) as admin_only:  # resets go through the Storefront API
        assert admin_only.capabilities == EVERY_CHANGE - SHOPIFY_CANNOT - {
            Change.START_PASSWORD_RESET
        }


def test_the_llm_is_offered_only_the_tools_the_backend_supports(shopify_url: str) -> None:
    fake = FakeOpenAI([say("Hello! How can I help?")])
    with serve_model(fake) as model_url, shopify(shopify_url) as shop:
        settings = LlmSettings(
            provider="openai", base_url=model_url, model="test-model", max_retries=0
        )
        model = build_model(settings)
        assert model is not None
        toolbox = Toolbox(shop, NoCrm())
        agent = LlmRealtimeAgent(
            toolbox,
            model,
            RealtimeAgent(toolbox),
            UsageMeter(settings, "test-model", "realtime"),
            budget_ms=30_000,  # about the tools offered: a busy machine must not make it late
        )
        turn = agent.respond(message("hi"), intent("greeting"), None)
    assert turn.draft.text == "Hello! How can I help?"
    # verify_email_code is offered only with [realtime] verify = "email_code".
    missing = SHOPIFY_CANNOT | {Change.START_PASSWORD_RESET, VERIFY_CODE}
    assert fake.tool_names_offered() == set(TOOLS) - missing
    assert set(toolbox.tools) == set(TOOLS) - missing


def test_a_missing_change_is_refused_before_the_customer_is_asked(shopify_url: str) -> None:
    with shopify(shopify_url) as shop:
        toolbox = Toolbox(shop, NoCrm())
        turn = Turn(state=ToolState(user_id="101"), message_id="m1", confirmed=False)
        arguments = {
            "order_id": "#1002",
            "item_ids": ["312"],
            "new_item_ids": ["311"],
            "payment_method_id": "paypal",
        }
        _, result = toolbox.call(turn, "exchange_delivered_order_items", arguments)
    assert not result.ok and "confirmation_required" not in result.output
    assert result.error == (
        "Exchanging delivered items is not supported by this shop; "
        "transfer the customer to a person"
    )
    assert turn.state.pending is None


def test_the_rule_based_agent_says_so_honestly(
    shopify_server: tuple[FakeShopify, str], shopify_url: str
) -> None:
    fake, _ = shopify_server
    with shopify(shopify_url) as shop:
        agent = RealtimeAgent(Toolbox(shop, NoCrm()))
        text = "I'd like to exchange my mug for the blue one. My email is Ada.Lovelace@example.com"
        turn = agent.respond(message(text), intent("exchange_item"), None)
    assert turn.draft.text == (
        "I couldn't do that: Exchanging delivered items is not supported by this shop; "
        "transfer the customer to a person. Nothing was changed."
    )
    assert DialogueState.model_validate(turn.state).tools.pending is None
    assert [c.name for c in turn.tool_calls][-1] == "exchange_delivered_order_items"
    assert {r["operation"] for r in fake.requests} <= LOOKUPS  # nothing was asked to change


def message(text: str) -> InboundMessage:
    return InboundMessage(
        id="m1", conversation_id="c1", channel="web", text=text, received_at=utcnow()
    )


def intent(label: str) -> IntentPrediction:
    return IntentPrediction(label=label, confidence=0.99, model_version="test", out_of_scope=False)
