"""Shopify's objects read as frontdesk's commerce records, and our addresses and item ids
written as Shopify's inputs; plus the identifiers and search syntax both directions share."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from frontdesk.commerce.base import CommerceError
from frontdesk.commerce.embedded import fold
from frontdesk.commerce.models import (
    Address,
    Customer,
    Fulfilment,
    Name,
    Order,
    OrderItem,
    OrderStatus,
    PaymentEntry,
    PaymentMethod,
    Product,
    Variant,
)

PENDING_FULFILMENT = {
    "UNFULFILLED",
    "OPEN",
    "ON_HOLD",
    "SCHEDULED",
    "PENDING_FULFILLMENT",
    "REQUEST_DECLINED",
}
OPEN_RETURNS = {"REQUESTED", "OPEN"}
PAYMENT_KINDS = {"SALE", "AUTHORIZATION"}  # a CAPTURE completes an AUTHORIZATION: not counted
REFUND_KINDS = {"REFUND", "VOID"}
# Two-letter codes pass as they are; these spelled-out names and three-letter codes are mapped.
COUNTRIES = {
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "can": "CA",
    "canada": "CA",
    "gbr": "GB",
    "uk": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "deu": "DE",
    "germany": "DE",
    "fra": "FR",
    "france": "FR",
    "aus": "AU",
    "australia": "AU",
    "mex": "MX",
    "mexico": "MX",
}


def customer_from(raw: dict[str, Any]) -> Customer:
    orders = nodes(raw.get("orders"))
    methods: dict[str, PaymentMethod] = {}
    for order in orders:
        for tx in order.get("transactions") or []:
            if tx.get("status") == "SUCCESS" and tx.get("kind") in PAYMENT_KINDS:
                method = _payment_method(tx)
                methods.setdefault(method.id, method)
    return Customer(
        user_id=gid_number(raw["id"]),
        name=Name(first_name=raw.get("firstName") or "", last_name=raw.get("lastName") or ""),
        address=_address(raw.get("defaultAddress")),
        email=email_of(raw),
        payment_methods=methods,
        orders=[order["name"] for order in orders],
    )


def product_from(raw: dict[str, Any]) -> Product:
    variants = {}
    for variant in nodes(raw.get("variants")):
        item_id = gid_number(variant["id"])
        variants[item_id] = Variant(
            item_id=item_id,
            options=_options(variant),
            available=bool(variant.get("availableForSale")),
            price=round(float(variant.get("price") or 0), 2),
        )
    return Product(name=raw.get("title") or "", product_id=gid_number(raw["id"]), variants=variants)


def order_from(raw: dict[str, Any]) -> Order:
    variant_of: dict[str, str] = {}  # line item GID → item_id
    items = []
    for line in nodes(raw.get("lineItems")):
        variant = line.get("variant") or {}
        item_id = gid_number(variant["id"]) if variant.get("id") else ""
        variant_of[line["id"]] = item_id
        product = variant.get("product") or {}
        items += [
            OrderItem(
                name=line.get("title") or "",
                product_id=gid_number(product["id"]) if product.get("id") else "",
                item_id=item_id,
                price=_money(line.get("originalUnitPriceSet")),
                options=_options(variant),
            )
        ] * int(line.get("quantity") or 0)
    fulfilments = [
        Fulfilment(
            tracking_id=[t["number"] for t in f.get("trackingInfo") or [] if t.get("number")],
            item_ids=[
                variant_of.get((part.get("lineItem") or {}).get("id", ""), "")
                for part in nodes(f.get("fulfillmentLineItems"))
                for _ in range(int(part.get("quantity") or 0))
            ],
        )
        for f in raw.get("fulfillments") or []
    ]
    history = _payments(raw.get("transactions") or [])
    customer = raw.get("customer") or {}
    order = Order(
        order_id=raw["name"],
        user_id=gid_number(customer["id"]) if customer.get("id") else "",
        address=_address(raw.get("shippingAddress")),
        items=[item.model_copy() for item in items],
        status=_status(raw),
        fulfillments=fulfilments,
        payment_history=history,
    )
    if order.status == "cancelled":
        note = (raw.get("cancellation") or {}).get("staffNote") or ""
        ours = re.match(r"frontdesk: (.+?) \[ref ", note)
        order.cancel_reason = ours.group(1) if ours else (raw.get("cancelReason") or "").lower()
    if order.status == "return requested":
        order.return_items = _returned_items(raw, variant_of)
        order.return_payment_method_id = history[0].payment_method_id if history else None
    return order


def _returned_items(raw: dict[str, Any], variant_of: dict[str, str]) -> list[str]:
    items = []
    for ret in nodes(raw.get("returns")):
        if ret.get("status") not in OPEN_RETURNS:
            continue
        for line in nodes(ret.get("returnLineItems")):
            part = line.get("fulfillmentLineItem") or {}
            item_id = variant_of.get((part.get("lineItem") or {}).get("id", ""), "")
            items += [item_id] * int(line.get("quantity") or 0)
    return sorted(items)


def _status(raw: dict[str, Any]) -> OrderStatus:
    if raw.get("cancelledAt"):
        return "cancelled"
    if any(ret.get("status") in OPEN_RETURNS for ret in nodes(raw.get("returns"))):
        return "return requested"
    if raw.get("displayFulfillmentStatus") in PENDING_FULFILMENT:
        return "pending"
    fulfilments = raw.get("fulfillments") or []
    delivered = all(f.get("displayStatus") == "DELIVERED" for f in fulfilments)
    if raw.get("displayFulfillmentStatus") == "FULFILLED" and fulfilments and delivered:
        return "delivered"
    return "processed"


def _payments(transactions: list[dict[str, Any]]) -> list[PaymentEntry]:
    history = []
    for tx in transactions:
        kind = tx.get("kind")
        if tx.get("status") != "SUCCESS" or kind not in PAYMENT_KINDS | REFUND_KINDS:
            continue
        history.append(
            PaymentEntry(
                transaction_type="payment" if kind in PAYMENT_KINDS else "refund",
                amount=_money(tx.get("amountSet")),
                payment_method_id=_payment_method(tx).id,
            )
        )
    return history


def _payment_method(tx: dict[str, Any]) -> PaymentMethod:
    gateway = (tx.get("gateway") or "").lower()
    if "gift_card" in gateway:
        return PaymentMethod(id="gift_card", source="gift_card")
    if "paypal" in gateway:
        return PaymentMethod(id="paypal", source="paypal")
    card = tx.get("paymentDetails") or {}
    last_four = "".join(c for c in card.get("number") or "" if c.isdigit())[-4:] or None
    return PaymentMethod(
        id=f"credit_card_{last_four or gateway or 'unknown'}",
        source="credit_card",
        brand=card.get("company"),
        last_four=last_four,
    )


def return_lines(raw: dict[str, Any], item_ids: list[str]) -> Counter[str]:
    """Fulfillment line item GID → quantity for the requested item ids (one id per unit)."""
    variant_of = {
        line["id"]: gid_number((line.get("variant") or {}).get("id") or "")
        for line in nodes(raw.get("lineItems"))
    }
    units = [
        (part["id"], variant_of.get((part.get("lineItem") or {}).get("id", ""), ""))
        for f in raw.get("fulfillments") or []
        for part in nodes(f.get("fulfillmentLineItems"))
        for _ in range(int(part.get("quantity") or 0))
    ]
    lines: Counter[str] = Counter()
    for item_id in item_ids:
        unit = next((u for u in units if u[1] == item_id), None)
        if unit is None:
            raise CommerceError("Some item not found")
        units.remove(unit)
        lines[unit[0]] += 1
    return lines


def _address(raw: dict[str, Any] | None) -> Address:
    raw = raw or {}
    return Address(
        address1=raw.get("address1") or "",
        address2=raw.get("address2") or "",
        city=raw.get("city") or "",
        country=raw.get("countryCodeV2") or "",
        state=raw.get("provinceCode") or "",
        zip=raw.get("zip") or "",
    )


def address_input(address: Address, names: dict[str, Any]) -> dict[str, Any]:
    country = address.country.strip()
    code = (
        country.upper() if len(country) == 2 and country.isalpha() else COUNTRIES.get(fold(country))
    )
    if code is None:
        raise CommerceError(
            f"Unknown country {address.country!r}: give the two-letter country code, such as US"
        )
    return {
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "provinceCode": address.state.strip(),
        "countryCode": code,
        "zip": address.zip.strip(),
        "firstName": names.get("firstName") or "",
        "lastName": names.get("lastName") or "",
    }


def _options(variant: dict[str, Any]) -> dict[str, str]:
    # A product without options has one variant with the option "Title: Default Title".
    return {
        option["name"].lower(): option["value"]
        for option in variant.get("selectedOptions") or []
        if option.get("name") != "Title"
    }


def email_of(raw: dict[str, Any]) -> str:
    return (raw.get("defaultEmailAddress") or {}).get("emailAddress") or ""


def _money(money: dict[str, Any] | None) -> float:
    return round(float(((money or {}).get("shopMoney") or {}).get("amount") or 0), 2)


def nodes(connection: dict[str, Any] | None) -> list[dict[str, Any]]:
    return (connection or {}).get("nodes") or []


def make_gid(kind: str, number: str) -> str:
    return f"gid://shopify/{kind}/{number.strip()}"


def gid_number(gid: str) -> str:
    return gid.rsplit("/", 1)[-1].split("?", 1)[0]


def quoted(value: str) -> str:
    """A value for Shopify's search syntax (`email:"…"`), quoted so spaces and colons stay in."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def postcode(value: str) -> str:
    return fold(value).replace(" ", "")
