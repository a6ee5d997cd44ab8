"""The shop and CRM kept in frontdesk's own store, with the retail semantics of τ-bench.

Every change reads and writes its records in one transaction together with its idempotency key,
so a repeated key returns the first result and changes nothing. Money is rounded to cents.
One deliberate difference from τ-bench: when several items of a pending order are modified, each
item takes its own new variant's price and options (τ-bench gives them all the last one's).
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.clock import utcnow
from frontdesk.commerce.base import EVERY_CHANGE, Change, CommerceError
from frontdesk.commerce.eligibility import allows
from frontdesk.commerce.models import (
    Address,
    Customer,
    Order,
    OrderItem,
    PasswordReset,
    PaymentEntry,
    PaymentMethod,
    Product,
    SupportCase,
    Variant,
)
from frontdesk.store.base import new_id
from frontdesk.store.repository import Store
from frontdesk.store.tables import (
    OutboxRow,
    ShopCustomerRow,
    ShopItemRow,
    ShopOrderRow,
    ShopProductRow,
    SupportCaseRow,
    ToolEffectRow,
)

CANCEL_REASONS = ("no longer needed", "ordered by mistake")
MODIFY_MESSAGES = ("{} not found", "The number of items to be exchanged should match")
EXCHANGE_MESSAGES = ("Number of {} not found.", "The number of items to be exchanged should match.")
RESET_VALID_FOR = timedelta(minutes=30)
Result = TypeVar("Result", bound=BaseModel)


def fold(text: str) -> str:
    """Case-, accent- and space-insensitive form for matching names and emails."""
    decomposed = unicodedata.normalize("NFD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def cents(amount: float) -> float:
    return round(amount, 2)


class EmbeddedShop:
    capabilities: frozenset[Change] = EVERY_CHANGE

    def __init__(self, store: Store, reset_link_base: str = "https://shop.example/reset") -> None:
        self.store = store
        self.reset_link_base = reset_link_base

    # lookups

    def find_customer_by_email(self, email: str) -> str | None:
        with self.store.session() as session:
            rows = session.scalars(
                select(ShopCustomerRow).where(ShopCustomerRow.email == email.strip().lower())
            ).all()
            wanted = fold(email)
            return next((row.user_id for row in rows if fold(row.data["email"]) == wanted), None)

    def find_customer_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str | None:
        with self.store.session() as session:
            rows = session.scalars(
                select(ShopCustomerRow).where(ShopCustomerRow.zip == zip.strip())
            ).all()
            for row in rows:
                name = row.data["name"]
                if fold(name["first_name"]) == fold(first_name) and fold(name["last_name"]) == fold(
                    last_name
                ):
                    return row.user_id
            return None

    def get_customer(self, user_id: str) -> Customer | None:
        with self.store.session() as session:
            row = session.get(ShopCustomerRow, user_id)
            return None if row is None else Customer.model_validate(row.data)

    def get_order(self, order_id: str) -> Order | None:
        with self.store.session() as session:
            row = session.get(ShopOrderRow, order_id)
            return None if row is None else Order.model_validate(row.data)

    def get_product(self, product_id: str) -> Product | None:
        with self.store.session() as session:
            row = session.get(ShopProductRow, product_id)
            return None if row is None else Product.model_validate(row.data)

    def product_of_item(self, item_id: str) -> Product | None:
        with self.store.session() as session:
            row = session.get(ShopItemRow, item_id)
            if row is None:
                return None
            product = session.get(ShopProductRow, row.product_id)
            return None if product is None else Product.model_validate(product.data)

    # changes

    def cancel_pending_order(self, order_id: str, reason: str, key: str) -> Order:
        def change(session: Session) -> Order:
            order, customer = self._order_and_customer(session, order_id)
            if not allows(order.status, Change.CANCEL_PENDING_ORDER):
                raise CommerceError("Non-pending order cannot be cancelled")
            if reason not in CANCEL_REASONS:
                raise CommerceError("Invalid reason")
            refunds = []
            for payment in order.payment_history:
                method = _method(customer, payment.payment_method_id)
                if method.source == "gift_card":
                    method.balance = cents((method.balance or 0) + payment.amount)
                refunds.append(
                    PaymentEntry(
                        transaction_type="refund",
                        amount=payment.amount,
                        payment_method_id=payment.payment_method_id,
                    )
                )
            order.status = "cancelled"
            order.cancel_reason = reason
            order.payment_history.extend(refunds)
            self._save(session, order, customer)
            return order

        return self._once(key, "cancel_pending_order", Order, change)

    def modify_pending_order_address(self, order_id: str, address: Address, key: str) -> Order:
        def change(session: Session) -> Order:
            order = self._order(session, order_id)
            if not allows(order.status, Change.MODIFY_PENDING_ORDER_ADDRESS):
                raise CommerceError("Non-pending order cannot be modified")
            order.address = address
            self._save(session, order)
            return order

        return self._once(key, "modify_pending_order_address", Order, change)

    def modify_pending_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        key: str,
    ) -> Order:
        def change(session: Session) -> Order:
            order, customer = self._order_and_customer(session, order_id)
            if not allows(order.status, Change.MODIFY_PENDING_ORDER_ITEMS):
                raise CommerceError("Non-pending order cannot be modified")
            replacements, diff = self._replacements(
                session, order, item_ids, new_item_ids, MODIFY_MESSAGES, same_allowed=False
            )
            method = _method(customer, payment_method_id)
            if method.source == "gift_card" and (method.balance or 0) < diff:
                raise CommerceError("Insufficient gift card balance to pay for the new item")
            order.payment_history.append(
                PaymentEntry(
                    transaction_type="payment" if diff > 0 else "refund",
                    amount=abs(diff),
                    payment_method_id=payment_method_id,
                )
            )
            if method.source == "gift_card":
                method.balance = cents((method.balance or 0) - diff)
            for replacement in replacements:
                item, variant = replacement.item, replacement.variant
                item.item_id, item.price, item.options = (
                    variant.item_id,
                    variant.price,
                    variant.options,
                )
            order.status = "pending (item modified)"
            self._save(session, order, customer)
            return order

        return self._once(key, "modify_pending_order_items", Order, change)

    def modify_pending_order_payment(
        self, order_id: str, payment_method_id: str, key: str
    ) -> Order:
        def change(session: Session) -> Order:
            order, customer = self._order_and_customer(session, order_id)
            if not allows(order.status, Change.MODIFY_PENDING_ORDER_PAYMENT):
                raise CommerceError("Non-pending order cannot be modified")
            new_method = _method(customer, payment_method_id)
            history = order.payment_history
            if len(history) != 1 or history[0].transaction_type != "payment":
                raise CommerceError("There should be exactly one payment for a pending order")
            old_id, amount = history[0].payment_method_id, history[0].amount
            if old_id == payment_method_id:
                raise CommerceError(
                    "The new payment method should be different from the current one"
                )
            if new_method.source == "gift_card" and (new_method.balance or 0) < amount:
                raise CommerceError("Insufficient gift card balance to pay for the order")
            history.append(
                PaymentEntry(
                    transaction_type="payment", amount=amount, payment_method_id=payment_method_id
                )
            )
            history.append(
                PaymentEntry(transaction_type="refund", amount=amount, payment_method_id=old_id)
            )
            if new_method.source == "gift_card":
                new_method.balance = cents((new_method.balance or 0) - amount)
            old_method = customer.payment_methods.get(old_id)
            if old_method is not None and old_method.source == "gift_card":
                old_method.balance = cents((old_method.balance or 0) + amount)
            self._save(session, order, customer)
            return order

        return self._once(key, "modify_pending_order_payment", Order, change)

    def return_delivered_order_items(
        self, order_id: str, item_ids: list[str], payment_method_id: str, key: str
    ) -> Order:
        def change(session: Session) -> Order:
            order, customer = self._order_and_customer(session, order_id)
            if not allows(order.status, Change.RETURN_DELIVERED_ORDER_ITEMS):
                raise CommerceError("Non-delivered order cannot be returned")
            method = _method(customer, payment_method_id)
            original = order.payment_history[0].payment_method_id if order.payment_history else None
            if method.source != "gift_card" and payment_method_id != original:
                raise CommerceError("Payment method should be the original payment method")
            _check_counts(order, item_ids, "Some item not found", per_item=False)
            order.status = "return requested"
            order.return_items = sorted(item_ids)
            order.return_payment_method_id = payment_method_id
            self._save(session, order)
            return order

        return self._once(key, "return_delivered_order_items", Order, change)

    def exchange_delivered_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        key: str,
    ) -> Order:
        def change(session: Session) -> Order:
            order, customer = self._order_and_customer(session, order_id)
            if not allows(order.status, Change.EXCHANGE_DELIVERED_ORDER_ITEMS):
                raise CommerceError("Non-delivered order cannot be exchanged")
            _, diff = self._replacements(
                session, order, item_ids, new_item_ids, EXCHANGE_MESSAGES, same_allowed=True
            )
            method = _method(customer, payment_method_id)
            if method.source == "gift_card" and (method.balance or 0) < diff:
                raise CommerceError(
                    "Insufficient gift card balance to pay for the price difference"
                )
            order.status = "exchange requested"
            order.exchange_items = sorted(item_ids)
            order.exchange_new_items = sorted(new_item_ids)
            order.exchange_payment_method_id = payment_method_id
            order.exchange_price_difference = diff
            self._save(session, order)
            return order

        return self._once(key, "exchange_delivered_order_items", Order, change)

    def modify_user_address(self, user_id: str, address: Address, key: str) -> Customer:
        def change(session: Session) -> Customer:
            customer = self._customer(session, user_id)
            customer.address = address
            self._save_customer(session, customer)
            return customer

        return self._once(key, "modify_user_address", Customer, change)

    # CRM

    def open_case(
        self, user_id: str | None, subject: str, description: str, key: str
    ) -> SupportCase:
        def change(session: Session) -> SupportCase:
            case = SupportCase(
                case_id=new_id(),
                user_id=user_id,
                subject=subject,
                description=description,
                created_at=utcnow(),
            )
            session.add(SupportCaseRow(**case.model_dump()))
            return case

        return self._once(key, "open_support_case", SupportCase, change)

    def start_password_reset(self, user_id: str, key: str) -> PasswordReset:
        def change(session: Session) -> PasswordReset:
            customer = self._customer(session, user_id)
            now = utcnow()
            token = secrets.token_urlsafe(24)
            session.add(
                OutboxRow(
                    id=new_id(),
                    channel="email",
                    idempotency_key=f"{key}:email",
                    purpose="password_reset",
                    status="pending",
                    attempts=0,
                    recipient=customer.email,
                    subject="Reset your password",
                    body=(
                        f"Use this link within 30 minutes to choose a new password: "
                        f"{self.reset_link_base}?token={token}"
                    ),
                    created_at=now,
                )
            )
            return PasswordReset(
                user_id=user_id, sent_to=customer.email, expires_at=now + RESET_VALID_FOR
            )

        return self._once(key, "start_password_reset", PasswordReset, change)

    # plumbing

    def _once(
        self, key: str, tool: str, result_type: type[Result], change: Callable[[Session], Result]
    ) -> Result:
        with self.store.session() as session:
            done = session.get(ToolEffectRow, key)
            if done is not None:
                return result_type.model_validate(done.result)
            result = change(session)
            session.add(
                ToolEffectRow(
                    idempotency_key=key,
                    tool=tool,
                    result=result.model_dump(mode="json"),
                    created_at=utcnow(),
                )
            )
            return result

    def _order(self, session: Session, order_id: str) -> Order:
        row = session.get(ShopOrderRow, order_id, with_for_update=True)
        if row is None:
            raise CommerceError("Order not found")
        return Order.model_validate(row.data)

    def _customer(self, session: Session, user_id: str) -> Customer:
        row = session.get(ShopCustomerRow, user_id, with_for_update=True)
        if row is None:
            raise CommerceError("User not found")
        return Customer.model_validate(row.data)

    def _order_and_customer(self, session: Session, order_id: str) -> tuple[Order, Customer]:
        order = self._order(session, order_id)
        return order, self._customer(session, order.user_id)

    def _replacements(
        self,
        session: Session,
        order: Order,
        item_ids: list[str],
        new_item_ids: list[str],
        messages: tuple[str, str],
        same_allowed: bool,
    ) -> tuple[list[_Replacement], float]:
        """Each item paired with its new variant, checked in τ-bench's order, and the price
        difference in cents (τ-bench words its two tools' refusals slightly differently)."""
        missing, mismatch = messages
        _check_counts(order, item_ids, missing)
        if len(item_ids) != len(new_item_ids):
            raise CommerceError(mismatch)
        replacements: list[_Replacement] = []
        for old, new in zip(item_ids, new_item_ids, strict=True):
            if old == new and not same_allowed:
                raise CommerceError("The new item id should be different from the old item id")
            replacements.append(self._replacement(session, order, old, new, replacements))
        return replacements, cents(sum(r.variant.price - r.item.price for r in replacements))

    def _replacement(
        self, session: Session, order: Order, old: str, new: str, earlier: list[_Replacement]
    ) -> _Replacement:
        """The next copy of item `old` not already being replaced, and its new variant."""
        taken = {id(replacement.item) for replacement in earlier}
        item = next((i for i in order.items if i.item_id == old and id(i) not in taken), None)
        if item is None:
            raise CommerceError(f"Item {old} not found")
        product_row = session.get(ShopProductRow, item.product_id)
        if product_row is None:
            raise CommerceError("Product not found")
        variant_data = product_row.data["variants"].get(new)
        if variant_data is None:
            raise CommerceError("Variant not found")
        variant = Variant.model_validate(variant_data)
        if not variant.available:
            raise CommerceError(f"New item {new} not found or available")
        return _Replacement(item, variant)

    def _save(self, session: Session, order: Order, customer: Customer | None = None) -> None:
        row = session.get(ShopOrderRow, order.order_id)
        assert row is not None
        row.status = order.status
        row.data = order.model_dump(mode="json")
        if customer is not None:
            self._save_customer(session, customer)

    def _save_customer(self, session: Session, customer: Customer) -> None:
        row = session.get(ShopCustomerRow, customer.user_id)
        assert row is not None
        row.data = customer.model_dump(mode="json")
        row.email = customer.email.lower()
        row.zip = customer.address.zip


@dataclass(frozen=True)
class _Replacement:
    item: OrderItem
    variant: Variant


def _method(customer: Customer, payment_method_id: str) -> PaymentMethod:
    method = customer.payment_methods.get(payment_method_id)
    if method is None:
        raise CommerceError("Payment method not found")
    return method


def _check_counts(order: Order, item_ids: list[str], message: str, per_item: bool = True) -> None:
    in_order = [item.item_id for item in order.items]
    for item_id in item_ids:
        if item_ids.count(item_id) > in_order.count(item_id):
            raise CommerceError(message.format(item_id) if per_item else message)
