"""Typed arguments of every tool; names and fields follow the τ-bench retail tools."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ByEmail(Arguments):
    email: str = Field(min_length=3, max_length=254)


class ByNameZip(Arguments):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    zip: str = Field(min_length=3, max_length=20)


class VerificationCode(Arguments):
    code: str = Field(pattern=r"^[0-9]{6}$")


class UserId(Arguments):
    user_id: str


class OrderId(Arguments):
    order_id: str


class ProductId(Arguments):
    product_id: str


class ItemId(Arguments):
    item_id: str


class Calculation(Arguments):
    expression: str = Field(max_length=200)


class Transfer(Arguments):
    summary: str = Field(max_length=2000)


class Cancellation(OrderId):
    reason: str


class NewAddress(Arguments):
    address1: str
    address2: str = ""
    city: str
    state: str
    country: str
    zip: str


class OrderAddress(OrderId, NewAddress):
    pass


class UserAddress(UserId, NewAddress):
    pass


class ItemChange(OrderId):
    item_ids: list[str] = Field(min_length=1)
    new_item_ids: list[str] = Field(min_length=1)
    payment_method_id: str


class PaymentChange(OrderId):
    payment_method_id: str


class ItemReturn(OrderId):
    item_ids: list[str] = Field(min_length=1)
    payment_method_id: str


class SupportCaseRequest(Arguments):
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
