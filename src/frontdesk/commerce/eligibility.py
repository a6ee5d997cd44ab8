"""Which order statuses allow which change: the one answer the shops check before changing an
order, the real-time agent asks with, and the escalation agent computes its options from.

The rules are τ-bench's: a pending order can be cancelled, re-addressed, re-paid and have its
items changed; once its items were changed (`pending (item modified)`) only the address and the
payment can still change; a delivered order's items can be returned or exchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from frontdesk.commerce.base import Change
from frontdesk.commerce.models import OrderStatus

PENDING: frozenset[OrderStatus] = frozenset({"pending"})
STILL_PENDING: frozenset[OrderStatus] = frozenset({"pending", "pending (item modified)"})
DELIVERED: frozenset[OrderStatus] = frozenset({"delivered"})

# The changes of one order; the account's changes (address, password) do not depend on one.
ELIGIBLE: Mapping[Change, frozenset[OrderStatus]] = MappingProxyType(
    {
        Change.CANCEL_PENDING_ORDER: PENDING,
        Change.MODIFY_PENDING_ORDER_ITEMS: PENDING,
        Change.MODIFY_PENDING_ORDER_ADDRESS: STILL_PENDING,
        Change.MODIFY_PENDING_ORDER_PAYMENT: STILL_PENDING,
        Change.RETURN_DELIVERED_ORDER_ITEMS: DELIVERED,
        Change.EXCHANGE_DELIVERED_ORDER_ITEMS: DELIVERED,
    }
)


def allows(status: str, change: Change) -> bool:
    """Whether an order in `status` may undergo `change` (a change of one order)."""
    return status in ELIGIBLE[change]
