"""One table says which order statuses allow which change, and the shop refuses by it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import get_args

import pytest

from frontdesk.commerce.base import Change, CommerceError
from frontdesk.commerce.eligibility import ELIGIBLE, allows
from frontdesk.commerce.embedded import EmbeddedShop
from frontdesk.commerce.loading import replace_shop
from frontdesk.commerce.models import Address, Order, OrderStatus
from frontdesk.config import load_settings
from frontdesk.runtime.services import open_store
from frontdesk.store.tables import ShopOrderRow
from realtime_chat import DEMO, find

CANCEL = Change.CANCEL_PENDING_ORDER
ITEMS = Change.MODIFY_PENDING_ORDER_ITEMS
ADDRESS = Change.MODIFY_PENDING_ORDER_ADDRESS
PAYMENT = Change.MODIFY_PENDING_ORDER_PAYMENT
RETURN = Change.RETURN_DELIVERED_ORDER_ITEMS
EXCHANGE = Change.EXCHANGE_DELIVERED_ORDER_ITEMS

# τ-bench's retail policy, written out by hand: status → the changes of the order it allows.
POLICY: dict[str, set[Change]] = {
    "pending": {CANCEL, ITEMS, ADDRESS, PAYMENT},
    "pending (item modified)": {ADDRESS, PAYMENT},  # items change only once
    "processed": set(),
    "delivered": {RETURN, EXCHANGE},
    "cancelled": set(),
    "return requested": set(),
    "exchange requested": set(),
}
CASES = [
    (status, change, change in allowed) for status, allowed in POLICY.items() for change in ELIGIBLE
]


def test_the_policy_covers_every_status_and_every_order_change() -> None:
    assert set(POLICY) == set(get_args(OrderStatus))
    assert set(ELIGIBLE) == set(Change) - {Change.MODIFY_USER_ADDRESS, Change.START_PASSWORD_RESET}


@pytest.mark.parametrize(("status", "change", "allowed"), CASES)
def test_eligibility_table(status: str, change: Change, allowed: bool) -> None:
    assert allows(status, change) is allowed


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedShop]:
    data: Path = tmp_path_factory.mktemp("eligibility") / "data"
    store = open_store(load_settings(data_dir=data))
    replace_shop(store, DEMO)
    yield EmbeddedShop(store)
    store.engine.dispose()


def _attempt(shop: EmbeddedShop, order: Order, change: Change, key: str) -> Callable[[], object]:
    """The change asked of `order` with arguments that pass the status check, whatever follows."""
    item, method = order.items[0].item_id, order.payment_history[0].payment_method_id
    address = Address(address1="1 Main St", city="Austin", country="USA", state="TX", zip="78701")
    return {
        CANCEL: lambda: shop.cancel_pending_order(order.order_id, "no longer needed", key),
        ITEMS: lambda: shop.modify_pending_order_items(order.order_id, [item], [item], method, key),
        ADDRESS: lambda: shop.modify_pending_order_address(order.order_id, address, key),
        PAYMENT: lambda: shop.modify_pending_order_payment(order.order_id, method, key),
        RETURN: lambda: shop.return_delivered_order_items(order.order_id, [item], method, key),
        EXCHANGE: lambda: shop.exchange_delivered_order_items(
            order.order_id, [item], [item], method, key
        ),
    }[change]


@pytest.mark.parametrize(("status", "change", "allowed"), CASES)
def test_the_embedded_shop_refuses_by_the_table(
    shop: EmbeddedShop, status: OrderStatus, change: Change, allowed: bool
) -> None:
    _, original = find("pending")
    order = original.model_copy(update={"status": status})
    with shop.store.session() as session:
        session.get(ShopOrderRow, order.order_id).data = order.model_dump(mode="json")
    try:
        _attempt(shop, order, change, key=f"{status}:{change}")()
        refused_for_status = False
    except CommerceError as exc:  # a later check may refuse the arguments; only this one counts
        refused_for_status = str(exc).startswith("Non-")
    assert refused_for_status is not allowed
