"""The shop's and the CRM's records as the tools see them, whatever system holds them.

Field names follow the τ-bench retail layout, so a shop exported in that layout imports as is.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OrderStatus = Literal[
    "pending",
    "processed",
    "delivered",
    "cancelled",
    "pending (item modified)",
    "return requested",
    "exchange requested",
]


class Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class Address(Record):
    address1: str
    address2: str = ""
    city: str
    country: str
    state: str
    zip: str


class Name(Record):
    first_name: str
    last_name: str


class PaymentMethod(Record):
    id: str
    source: Literal["credit_card", "paypal", "gift_card"]
    brand: str | None = None
    last_four: str | None = None
    balance: float | None = None


class Customer(Record):
    user_id: str
    name: Name
    address: Address
    email: str
    payment_methods: dict[str, PaymentMethod]
    orders: list[str] = []
    # Not in the τ-bench layout, so left out of records while it is the default.
    tier: Literal["standard", "vip", "enterprise"] = Field(
        "standard", exclude_if=lambda tier: tier == "standard"
    )


class Variant(Record):
    item_id: str
    options: dict[str, str]
    available: bool
    price: float


class Product(Record):
    name: str
    product_id: str
    variants: dict[str, Variant]
    final_sale: bool = Field(False, exclude_if=lambda final: not final)
    category: str | None = Field(None, exclude_if=lambda category: category is None)


class OrderItem(Record):
    name: str
    product_id: str
    item_id: str
    price: float
    options: dict[str, str]


class Fulfilment(Record):
    tracking_id: list[str]
    item_ids: list[str]


class PaymentEntry(Record):
    transaction_type: Literal["payment", "refund"]
    amount: float
    payment_method_id: str


class Order(Record):
    order_id: str
    user_id: str
    address: Address
    items: list[OrderItem]
    status: OrderStatus
    fulfillments: list[Fulfilment] = []
    payment_history: list[PaymentEntry] = []
    cancel_reason: str | None = None
    exchange_items: list[str] | None = None
    exchange_new_items: list[str] | None = None
    exchange_payment_method_id: str | None = None
    exchange_price_difference: float | None = None
    return_items: list[str] | None = None
    return_payment_method_id: str | None = None
    # Dates the τ-bench layout lacks; absent there, so left out of records when unknown.
    placed_at: date | None = Field(None, exclude_if=lambda day: day is None)
    delivered_at: date | None = Field(None, exclude_if=lambda day: day is None)

    @property
    def total_paid(self) -> float:
        paid = sum(p.amount for p in self.payment_history if p.transaction_type == "payment")
        refunded = sum(p.amount for p in self.payment_history if p.transaction_type == "refund")
        return round(paid - refunded, 2)


class SupportCase(BaseModel):
    case_id: str
    user_id: str | None
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    status: Literal["new", "working", "closed"] = "new"
    created_at: datetime


class PasswordReset(BaseModel):
    """A reset was started: the one-time token went to the customer's email, never into a chat."""

    user_id: str
    sent_to: str
    expires_at: datetime
