"""Complex cases: the escalation agent's options asserted exactly against the shop's policy
(30-day returns from delivery, final sale, 14-day damage reports, 1- or 2-year warranty)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from frontdesk.agents.escalation import EscalationAgent, EscalationRequest
from frontdesk.commerce.demo_shop import Shop
from frontdesk.commerce.embedded import EmbeddedShop
from frontdesk.commerce.loading import replace_shop
from frontdesk.commerce.models import (
    Address,
    Customer,
    Name,
    Order,
    OrderItem,
    PaymentEntry,
    PaymentMethod,
    Product,
    Variant,
)
from frontdesk.config import load_settings
from frontdesk.contracts import PolicyOption
from frontdesk.runtime.services import open_store

TODAY = date(2026, 11, 20)
HOME = Address(address1="1 Elm St", city="Austin", country="USA", state="TX", zip="78701")


def variant(item_id: str, price: float, available: bool = True, **options: str) -> Variant:
    return Variant(item_id=item_id, options=options, available=available, price=price)


PRODUCTS = [
    Product(name="Linen Shirt", product_id="p-shirt", variants={
        "S1": variant("S1", 48.0, color="white", size="M"),
        "S2": variant("S2", 48.0, color="white", size="L"),
        "S3": variant("S3", 50.0, available=False, color="navy", size="M"),
    }),
    Product(name="Wool Socks", product_id="p-socks", final_sale=True, variants={
        "K1": variant("K1", 14.0, size="M"), "K2": variant("K2", 14.0, size="L"),
    }),
    Product(name="Wireless Headphones", product_id="p-phones", category="electronics", variants={
        "H1": variant("H1", 199.0, color="black"), "H2": variant("H2", 205.0, color="silver"),
    }),
    Product(name="Ceramic Mug", product_id="p-mug", variants={"M1": variant("M1", 18.0)}),
]  # fmt: skip
BY_ITEM = {i: (p, v) for p in PRODUCTS for i, v in p.variants.items()}


def order(order_id: str, status: str, items: list[str], paid_with: str, **dates: date) -> Order:
    lines = [
        OrderItem(
            name=BY_ITEM[i][0].name,
            product_id=BY_ITEM[i][0].product_id,
            item_id=i,
            price=BY_ITEM[i][1].price,
            options=BY_ITEM[i][1].options,
        )
        for i in items
    ]
    total = round(sum(line.price for line in lines), 2)
    return Order(
        order_id=order_id,
        user_id="ann_lee_1",
        address=HOME,
        items=lines,
        status=status,
        payment_history=[
            PaymentEntry(transaction_type="payment", amount=total, payment_method_id=paid_with)
        ],
        **dates,
    )


ORDERS = [
    order("#W1000001", "delivered", ["S1", "K1", "H1"], "credit_card_1",
          delivered_at=date(2026, 11, 10)),
    order("#W1000002", "delivered", ["S2", "M1"], "credit_card_1",
          delivered_at=date(2026, 10, 1)),
    order("#W1000003", "pending", ["S1", "M1"], "gift_card_1"),
    order("#W1000004", "processed", ["H2"], "credit_card_1"),
    order("#W1000005", "delivered", ["H1", "M1"], "paypal_1", delivered_at=date(2026, 11, 1)),
    order("#W1000006", "return requested", ["S2"], "credit_card_1"),
    order("#W1000007", "delivered", ["S2"], "credit_card_1"),
]  # fmt: skip
ANN = Customer(
    user_id="ann_lee_1",
    name=Name(first_name="Ann", last_name="Lee"),
    address=HOME,
    email="ann@example.com",
    payment_methods={
        "credit_card_1": PaymentMethod(
            id="credit_card_1", source="credit_card", brand="visa", last_four="4242"
        ),
        "gift_card_1": PaymentMethod(id="gift_card_1", source="gift_card", balance=20.0),
        "paypal_1": PaymentMethod(id="paypal_1", source="paypal"),
    },
    orders=[o.order_id for o in ORDERS],
    tier="vip",
)  # fmt: skip


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> EscalationAgent:
    folder: Path = tmp_path_factory.mktemp("escalation")
    store = open_store(load_settings(data_dir=folder / "data"))
    replace_shop(store, Shop(customers=[ANN], products=PRODUCTS, orders=ORDERS))
    return EscalationAgent(EmbeddedShop(store))


def prepare(agent: EscalationAgent, text: str, intent: str, orders: list[str] | None = None):
    return agent.prepare(
        EscalationRequest(
            text=text, intent=intent, user_id="ann_lee_1", order_ids=orders or [], today=TODAY
        )
    )


def option(action, order_id, items, allowed, amount, refund_to=(), deadline=None) -> tuple:
    return (action, order_id, tuple(items), allowed, amount, tuple(refund_to), deadline)


def as_rows(options: list[PolicyOption], action: str | None = None) -> list[tuple]:
    return [
        option(o.action, o.order_id, o.item_ids, o.allowed, o.amount, o.refund_to, o.deadline)
        for o in options
        if action is None or o.action == action
    ]


CARD_OR_GIFT = ["credit_card_1", "gift_card_1"]


def test_multi_item_return_within_the_window_refunds_each_item(agent: EscalationAgent) -> None:
    case = prepare(agent, "I want to return my whole order #W1000001", "return_item")
    assert as_rows(case.options, "return") == [
        option("return", "#W1000001", ["S1"], True, 48.0, CARD_OR_GIFT, date(2026, 12, 10)),
        option("return", "#W1000001", ["K1"], False, 14.0, [], date(2026, 12, 10)),
        option("return", "#W1000001", ["H1"], True, 199.0, CARD_OR_GIFT, date(2026, 12, 10)),
    ]
    assert case.exceptions == []
    assert "returns worth up to 247.00" in case.summary


def test_final_sale_item_is_refused_with_its_reason(agent: EscalationAgent) -> None:
    case = prepare(agent, "return the socks from #W1000001", "return_item")
    socks = next(o for o in case.options if o.item_ids == ["K1"] and o.action == "return")
    assert socks.reason == "final-sale items cannot be returned or exchanged"


def test_partial_return_refunds_exactly_the_items_prices(agent: EscalationAgent) -> None:
    case = prepare(agent, "return the headphones and mug of #W1000005", "return_item")
    paypal_or_gift = ["paypal_1", "gift_card_1"]
    assert as_rows(case.options, "return") == [
        option("return", "#W1000005", ["H1"], True, 199.0, paypal_or_gift, date(2026, 12, 1)),
        option("return", "#W1000005", ["M1"], True, 18.0, paypal_or_gift, date(2026, 12, 1)),
    ]


def test_late_return_is_an_exception(agent: EscalationAgent) -> None:
    case = prepare(agent, "can I still return #W1000002?", "return_item")
    assert [o.allowed for o in case.options if o.action == "return"] == [False, False]
    assert case.exceptions == ["return not allowed: the 30-day window closed on 2026-10-31"]
    assert "specialist is reviewing" in case.draft


def test_asking_to_return_a_final_sale_item_is_named(agent: EscalationAgent) -> None:
    text = "I know the socks were final sale but please take them back"
    case = prepare(agent, text, "return_item", ["#W1000001"])
    assert case.exceptions == ["return of a final-sale item"]


def test_exchange_across_two_orders(agent: EscalationAgent) -> None:
    case = prepare(
        agent, "swap items from #W1000001 and #W1000005 for other colours", "exchange_item"
    )
    assert as_rows(case.options, "exchange") == [
        option("exchange", "#W1000001", ["S1"], True, 0.0, [], date(2026, 12, 10)),
        option("exchange", "#W1000001", ["K1"], False, 0.0, [], date(2026, 12, 10)),
        option("exchange", "#W1000001", ["H1"], True, 0.0, [], date(2026, 12, 10)),
        option("exchange", "#W1000005", ["H1"], True, 0.0, [], date(2026, 12, 1)),
        option("exchange", "#W1000005", ["M1"], False, 0.0, [], date(2026, 12, 1)),
    ]
    mug = next(o for o in case.options if o.action == "exchange" and o.item_ids == ["M1"])
    assert mug.reason == "no other variant is available"


def test_cancel_pending_order_refunds_in_full_to_the_gift_card(agent: EscalationAgent) -> None:
    case = prepare(agent, "cancel #W1000003", "cancel_order")
    assert as_rows(case.options) == [
        option("cancel", "#W1000003", ["S1", "M1"], True, 66.0, ["gift_card_1"]),
        option("modify", "#W1000003", ["S1", "M1"], True, 0.0),
    ]
    assert case.exceptions == []


def test_cancelling_a_shipped_order_is_an_exception(agent: EscalationAgent) -> None:
    case = prepare(agent, "cancel #W1000004 now", "cancel_order")
    assert as_rows(case.options) == [option("cancel", "#W1000004", ["H2"], False, 205.0)]
    assert case.exceptions == [
        "cancel not allowed: shipped orders can no longer be cancelled; they can be returned "
        "once delivered"
    ]


def test_damage_reported_within_14_days(agent: EscalationAgent) -> None:
    case = prepare(agent, "the headphones in #W1000001 arrived broken", "damaged_item")
    damage = [o for o in case.options if o.action == "replace_or_refund"]
    assert [(o.item_ids, o.allowed, o.amount, o.deadline) for o in damage] == [
        (["S1"], True, 48.0, date(2026, 11, 24)),
        (["K1"], True, 14.0, date(2026, 11, 24)),
        (["H1"], True, 199.0, date(2026, 11, 24)),
    ]


def test_damage_after_14_days_falls_to_the_warranty(agent: EscalationAgent) -> None:
    case = prepare(agent, "the mug from #W1000005 is cracked", "damaged_item")
    claims = [
        (o.item_ids, o.allowed, o.deadline) for o in case.options if o.action == "warranty_claim"
    ]
    assert claims == [(["H1"], True, date(2028, 11, 1)), (["M1"], True, date(2027, 11, 1))]


@pytest.mark.parametrize(
    ("text", "exception"),
    [
        ("please refund it to a different card", "refund to another payment method"),
        ("I'd like a refund but keep the shirt", "refund without returning the items"),
        ("I want a voucher for the trouble", "compensation beyond a refund"),
    ],
)
def test_named_exceptions(agent: EscalationAgent, text: str, exception: str) -> None:
    case = prepare(agent, f"{text}, order #W1000001", "return_item")
    assert exception in case.exceptions


def test_a_return_already_requested_offers_nothing_more(agent: EscalationAgent) -> None:
    assert prepare(agent, "what about #W1000006?", "return_item").options == []


def test_unknown_delivery_date_allows_but_says_to_check(agent: EscalationAgent) -> None:
    [returned, exchanged] = prepare(agent, "return #W1000007", "return_item").options
    assert (returned.allowed, returned.deadline, returned.amount) == (True, None, 48.0)
    assert "delivery date unknown" in returned.reason
    assert exchanged.allowed


def test_without_an_order_every_order_is_in_scope(agent: EscalationAgent) -> None:
    case = prepare(agent, "I have several problems with my orders", "complaint")
    assert [o.order_id for o in case.orders] == [o.order_id for o in ORDERS]
    assert {o.order_id for o in case.options} == {
        "#W1000001", "#W1000002", "#W1000003", "#W1000004", "#W1000005", "#W1000007"
    }  # fmt: skip
    assert case.customer is not None and case.customer.tier == "vip"


def test_unauthenticated_customer_gets_no_account_options(agent: EscalationAgent) -> None:
    case = agent.prepare(
        EscalationRequest(
            text="refund #W1000001 to a different card", intent="return_item", user_id=None,
            order_ids=[], today=TODAY,
        )
    )  # fmt: skip
    assert (case.customer, case.orders, case.options) == (None, [], [])
    assert case.exceptions == ["refund to another payment method"]
    assert "Confirm their identity" in case.summary


def test_draft_states_the_allowed_refund_and_deadline(agent: EscalationAgent) -> None:
    case = prepare(agent, "return everything from #W1000005", "return_item")
    assert case.draft.startswith("Hi Ann,")
    assert "$217.00" in case.draft and "until December 1" in case.draft
