"""What the tools need from a shop and a CRM, whichever system answers.

Lookups return None when nothing matches. Changes raise `CommerceError` with a message meant for
the customer, and take an idempotency key: a backend applies one key at most once and answers a
repeated key with the first result (the embedded shop in the same transaction as the change; remote
systems through their own idempotency mechanisms).

Every backend answers the lookups; the changes it can make are declared in `capabilities`, so the
tools for the others are not offered to an agent at all.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from frontdesk.commerce.models import (
    Address,
    Customer,
    Order,
    PasswordReset,
    Product,
    SupportCase,
)


class CommerceError(Exception):
    """A change the shop refuses; the message says why in words a customer understands."""


class Change(StrEnum):
    """A change a customer may ask for, named as the `Commerce` method that makes it."""

    CANCEL_PENDING_ORDER = "cancel_pending_order"
    MODIFY_PENDING_ORDER_ADDRESS = "modify_pending_order_address"
    MODIFY_PENDING_ORDER_ITEMS = "modify_pending_order_items"
    MODIFY_PENDING_ORDER_PAYMENT = "modify_pending_order_payment"
    RETURN_DELIVERED_ORDER_ITEMS = "return_delivered_order_items"
    EXCHANGE_DELIVERED_ORDER_ITEMS = "exchange_delivered_order_items"
    MODIFY_USER_ADDRESS = "modify_user_address"
    START_PASSWORD_RESET = "start_password_reset"


EVERY_CHANGE: frozenset[Change] = frozenset(Change)
# How a refusal names each change to the customer.
CHANGE_NAMES: dict[Change, str] = {
    Change.CANCEL_PENDING_ORDER: "Cancelling an order",
    Change.MODIFY_PENDING_ORDER_ADDRESS: "Changing the shipping address of an order",
    Change.MODIFY_PENDING_ORDER_ITEMS: "Changing the items of a pending order",
    Change.MODIFY_PENDING_ORDER_PAYMENT: "Changing the payment method of an order",
    Change.RETURN_DELIVERED_ORDER_ITEMS: "Returning delivered items",
    Change.EXCHANGE_DELIVERED_ORDER_ITEMS: "Exchanging delivered items",
    Change.MODIFY_USER_ADDRESS: "Changing the address of an account",
    Change.START_PASSWORD_RESET: "Resetting a password",
}


def unsupported(what: str, by: str) -> str:
    """The refusal of a change `by` cannot make: it says so, and that a person must take over."""
    return f"{what} is not supported by {by}; transfer the customer to a person"


class Commerce(Protocol):
    capabilities: frozenset[Change]
    """The changes this backend can make; calling another raises `CommerceError`."""

    def find_customer_by_email(self, email: str) -> str | None: ...

    def find_customer_by_name_zip(
        self, first_name: str, last_name: str, zip: str
    ) -> str | None: ...

    def get_customer(self, user_id: str) -> Customer | None: ...

    def get_order(self, order_id: str) -> Order | None: ...

    def get_product(self, product_id: str) -> Product | None: ...

    def product_of_item(self, item_id: str) -> Product | None: ...

    def cancel_pending_order(self, order_id: str, reason: str, key: str) -> Order: ...

    def modify_pending_order_address(self, order_id: str, address: Address, key: str) -> Order: ...

    def modify_pending_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        key: str,
    ) -> Order: ...

    def modify_pending_order_payment(
        self, order_id: str, payment_method_id: str, key: str
    ) -> Order: ...

    def return_delivered_order_items(
        self, order_id: str, item_ids: list[str], payment_method_id: str, key: str
    ) -> Order: ...

    def exchange_delivered_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        key: str,
    ) -> Order: ...

    def modify_user_address(self, user_id: str, address: Address, key: str) -> Customer: ...

    def start_password_reset(self, user_id: str, key: str) -> PasswordReset:
        """Send the customer a one-time reset link by email; the token never comes back here."""
        ...


class Crm(Protocol):
    def open_case(
        self, user_id: str | None, subject: str, description: str, key: str
    ) -> SupportCase: ...
