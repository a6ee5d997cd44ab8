"""The tool layer's rules and the embedded shop's semantics, without the dialogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.commerce.base import CommerceError
from frontdesk.commerce.embedded import EmbeddedShop
from frontdesk.commerce.loading import replace_shop
from frontdesk.config import load_settings
from frontdesk.runtime.services import open_store
from frontdesk.store.tables import ShopOrderRow
from frontdesk.tools.toolbox import Toolbox, ToolState, Turn
from realtime_chat import DEMO, find, orders_of


@pytest.fixture(params=["sqlite", "postgres"])
def shop(tmp_path: Path, request: pytest.FixtureRequest) -> EmbeddedShop:
    """The embedded shop on either engine: the same cases must hold on both."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    store = open_store(load_settings(data_dir=tmp_path / "data", store={"url": url}))
    replace_shop(store, DEMO)
    return EmbeddedShop(store)


def turn(user_id: str | None = None, confirmed: bool = False, message: str = "m1") -> Turn:
    return Turn(state=ToolState(user_id=user_id), message_id=message, confirmed=confirmed)


def test_a_change_needs_a_confirmed_later_turn(shop: EmbeddedShop) -> None:
    customer, order = find("pending")
    box = Toolbox(shop, shop)
    first = turn(customer.user_id)
    arguments = {"order_id": order.order_id, "reason": "no longer needed"}
    for _ in range(2):  # asking twice in one turn is still asking
        _, result = box.call(first, "cancel_pending_order", arguments)
        assert result.output == {"confirmation_required": True}
    assert shop.get_order(order.order_id).status == "pending"
    later = Turn(state=first.state, message_id="m2", confirmed=True)
    _, changed = box.call(
        later, "cancel_pending_order", {**arguments, "reason": "ordered by mistake"}
    )
    assert not changed.ok  # a yes confirms only the change that was put to the customer
    _, done = box.call(later, "cancel_pending_order", {**arguments, "reason": "ordered by mistake"})
    assert done.ok and shop.get_order(order.order_id).status == "cancelled"


def test_reads_need_authentication_and_ownership(shop: EmbeddedShop) -> None:
    customer, order = find("pending")
    other = next(o for c in DEMO.customers if c.user_id != customer.user_id for o in orders_of(c))
    box = Toolbox(shop, shop)
    _, anonymous = box.call(turn(), "get_order_details", {"order_id": order.order_id})
    assert not anonymous.ok and "not authenticated" in anonymous.error
    _, foreign = box.call(turn(customer.user_id), "get_order_details", {"order_id": other.order_id})
    assert (foreign.ok, foreign.error) == (False, "Order not found")
    _, profile = box.call(turn(customer.user_id), "get_user_details", {"user_id": other.user_id})
    assert (profile.ok, profile.error) == (False, "User not found")
    _, product = box.call(
        turn(), "get_product_details", {"product_id": DEMO.products[0].product_id}
    )
    assert product.ok  # the catalogue is public


def test_identification_binds_the_conversation(shop: EmbeddedShop) -> None:
    first, second = DEMO.customers[0], DEMO.customers[1]
    box = Toolbox(shop, shop)
    state = turn()
    _, found = box.call(state, "find_user_id_by_email", {"email": first.email.upper()})
    assert found.output == {"result": first.user_id}
    _, refused = box.call(state, "find_user_id_by_email", {"email": second.email})
    assert not refused.ok and "another customer" in refused.error
    assert state.state.user_id == first.user_id


def test_same_key_acts_once(shop: EmbeddedShop) -> None:
    _, order = find("pending")
    once = shop.cancel_pending_order(order.order_id, "no longer needed", key="k1")
    again = shop.cancel_pending_order(order.order_id, "no longer needed", key="k1")
    assert once == again
    assert len(shop.get_order(order.order_id).payment_history) == 2
    with pytest.raises(CommerceError, match="Non-pending order cannot be cancelled"):
        shop.cancel_pending_order(order.order_id, "no longer needed", key="k2")


def test_modified_items_take_their_own_variants(shop: EmbeddedShop) -> None:
    products = {p.product_id: p for p in DEMO.products}
    customer, order, swaps = next(
        (c, o, swaps)
        for c in DEMO.customers
        for o in orders_of(c)
        if o.status == "pending" and len(o.items) >= 2
        for swaps in [
            [
                next(
                    (v for v in products[i.product_id].variants.values()
                     if v.available and v.item_id != i.item_id),
                    None,
                )
                for i in o.items[:2]
            ]
        ]
        if all(swaps) and swaps[0].price != swaps[1].price
    )  # fmt: skip
    method = order.payment_history[0].payment_method_id
    old_ids = [item.item_id for item in order.items[:2]]
    new = shop.modify_pending_order_items(
        order.order_id, old_ids, [v.item_id for v in swaps], method, key="k"
    )
    assert new.status == "pending (item modified)"
    assert [(i.item_id, i.price, i.options) for i in new.items[:2]] == [
        (v.item_id, v.price, v.options) for v in swaps
    ]
    difference = round(sum(v.price for v in swaps) - sum(i.price for i in order.items[:2]), 2)
    assert new.payment_history[-1].amount == abs(difference)
    assert customer.user_id == new.user_id


def test_calculate_is_arithmetic_only(shop: EmbeddedShop) -> None:
    box = Toolbox(shop, shop)
    _, ok = box.call(turn(), "calculate", {"expression": "(272.33 - 269.16) * 2"})
    assert ok.output == {"result": "6.34"}
    for expression, error in [
        ("9**9**9", "only numbers"),
        ("1/0", "division by zero"),
        ("x", "Invalid"),
    ]:
        _, refused = box.call(turn(), "calculate", {"expression": expression})
        assert not refused.ok and error in refused.error


def test_duplicate_items_are_modified_copy_by_copy(shop: EmbeddedShop) -> None:
    products = {p.product_id: p for p in DEMO.products}
    _, order = find("pending")
    item = order.items[0]
    others = [
        v for v in products[item.product_id].variants.values()
        if v.available and v.item_id != item.item_id
    ][:2]  # fmt: skip
    doubled = order.model_copy(update={"items": [item, item.model_copy()]})
    with shop.store.session() as session:
        session.get(ShopOrderRow, order.order_id).data = doubled.model_dump(mode="json")
    method = order.payment_history[0].payment_method_id
    changed = shop.modify_pending_order_items(
        order.order_id, [item.item_id, item.item_id], [v.item_id for v in others], method, key="d"
    )
    assert [(i.item_id, i.price) for i in changed.items] == [(v.item_id, v.price) for v in others]


def test_swapped_variants_keep_their_own_prices(shop: EmbeddedShop) -> None:
    products = {p.product_id: p for p in DEMO.products}
    order, first, first_variant, second_variant = next(
        (o, i, products[i.product_id].variants[i.item_id], v)
        for c in DEMO.customers
        for o in orders_of(c)
        if o.status == "pending"
        for i in o.items
        if products[i.product_id].variants[i.item_id].available
        for v in products[i.product_id].variants.values()
        if v.available and v.item_id != i.item_id and v.price != i.price
    )
    second = first.model_copy(
        update={
            "item_id": second_variant.item_id,
            "price": second_variant.price,
            "options": second_variant.options,
        }
    )
    pair = order.model_copy(update={"items": [first, second]})
    with shop.store.session() as session:
        session.get(ShopOrderRow, order.order_id).data = pair.model_dump(mode="json")
    method = order.payment_history[0].payment_method_id
    changed = shop.modify_pending_order_items(
        order.order_id,
        [first.item_id, second.item_id],
        [second.item_id, first.item_id],
        method,
        key="swap",
    )
    assert [(i.item_id, i.price) for i in changed.items] == [
        (second_variant.item_id, second_variant.price),
        (first_variant.item_id, first_variant.price),
    ]
