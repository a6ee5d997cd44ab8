"""The shop on Shopify: the `Commerce` protocol over the Shopify Admin GraphQL API.

Identifiers: `user_id` is the number of the Customer GID ("gid://shopify/Customer/101" → "101"),
`order_id` the order name ("#1001"; "1001" means "#1001"), `product_id` and `item_id` the numbers
of the Product and ProductVariant GIDs. Shopify has no idempotency key for the mutations used here,
so a change writes its key into the record it creates (the cancellation's staff note, the return's
customer note) and a repeated key finds it there; docs/adapters.md says what each change does when
repeated and which operations Shopify cannot do the way the protocol asks.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter, OrderedDict
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from frontdesk.clock import utcnow
from frontdesk.commerce.base import CommerceError
from frontdesk.commerce.embedded import CANCEL_REASONS, fold
from frontdesk.commerce.http import (
    BackendConfigError,
    BackendError,
    HttpClient,
    RetryPolicy,
)
from frontdesk.commerce.models import (
    Address,
    Customer,
    Fulfilment,
    Name,
    Order,
    OrderItem,
    OrderStatus,
    PasswordReset,
    PaymentEntry,
    PaymentMethod,
    Product,
    Variant,
)

API_VERSION = "2025-10"
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
Result = TypeVar("Result", bound=BaseModel)

# GraphQL. Connection sizes keep one order's query well under Shopify's cost limit of 1,000.
ADDRESS = """fragment Address on MailingAddress {
  id address1 address2 city provinceCode countryCodeV2 zip firstName lastName }"""
PAYMENT = """fragment Payment on OrderTransaction {
  kind status gateway amountSet { shopMoney { amount } }
  paymentDetails { ... on CardPaymentDetails { company number } } }"""
CUSTOMER = """fragment CustomerFields on Customer {
  id firstName lastName defaultEmailAddress { emailAddress } defaultAddress { ...Address }
  orders(first: 10, sortKey: PROCESSED_AT, reverse: true) {
    nodes { name transactions(first: 3) { ...Payment } } } }"""
PRODUCT = """fragment ProductFields on Product {
  id title
  variants(first: 100) {
    nodes { id price availableForSale selectedOptions { name value } } } }"""
ORDER = """fragment OrderFields on Order {
  id name cancelledAt cancelReason cancellation { staffNote } displayFulfillmentStatus
  customer { id }
  shippingAddress { ...Address }
  lineItems(first: 30) {
    nodes { id title quantity originalUnitPriceSet { shopMoney { amount } }
      variant { id selectedOptions { name value } product { id } } } }
  fulfillments(first: 3) {
    displayStatus trackingInfo(first: 3) { number }
    fulfillmentLineItems(first: 20) { nodes { id quantity lineItem { id } } } }
  transactions(first: 10) { ...Payment }
  returns(first: 3) {
    nodes { id status returnLineItems(first: 10) {
      nodes { quantity customerNote
        ... on ReturnLineItem { fulfillmentLineItem { id lineItem { id } } } } } } } }"""
CUSTOMER_PARTS = f"{CUSTOMER}\n{ADDRESS}\n{PAYMENT}"
ORDER_PARTS = f"{ORDER}\n{ADDRESS}\n{PAYMENT}"

FIND_CUSTOMERS = """query FindCustomers($query: String!) {
  customers(first: 10, query: $query) {
    nodes { id firstName lastName defaultEmailAddress { emailAddress }
      defaultAddress { zip } } } }"""
GET_CUSTOMER = (
    "query GetCustomer($id: ID!) { customer(id: $id) { ...CustomerFields } }\n" + CUSTOMER_PARTS
)
FIND_ORDER = (
    "query FindOrder($query: String!) {\n"
    "  orders(first: 5, query: $query) { nodes { ...OrderFields } } }\n" + ORDER_PARTS
)
GET_PRODUCT = "query GetProduct($id: ID!) { product(id: $id) { ...ProductFields } }\n" + PRODUCT
PRODUCT_OF_VARIANT = (
    """query ProductOfVariant($id: ID!) {
  productVariant(id: $id) { product { ...ProductFields } } }
"""
    + PRODUCT
)
ORDER_CANCEL = """mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!,
    $refundMethod: OrderCancelRefundMethodInput!, $restock: Boolean!, $notifyCustomer: Boolean,
    $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refundMethod: $refundMethod, restock: $restock,
      notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code } } }"""
JOB = "query Job($id: ID!) { job(id: $id) { id done } }"
ORDER_UPDATE = (
    """mutation OrderUpdate($input: OrderInput!) {
  orderUpdate(input: $input) { order { ...OrderFields } userErrors { field message } } }
"""
    + ORDER_PARTS
)
RETURN_REQUEST = """mutation ReturnRequest($input: ReturnRequestInput!) {
  returnRequest(input: $input) { return { id status } userErrors { field message code } } }"""
ADDRESS_UPDATE = """mutation CustomerAddressUpdate($customerId: ID!, $addressId: ID!,
    $address: MailingAddressInput!, $setAsDefault: Boolean) {
  customerAddressUpdate(customerId: $customerId, addressId: $addressId, address: $address,
      setAsDefault: $setAsDefault) { address { id } userErrors { field message } } }"""
ADDRESS_CREATE = """mutation CustomerAddressCreate($customerId: ID!, $address: MailingAddressInput!,
    $setAsDefault: Boolean) {
  customerAddressCreate(customerId: $customerId, address: $address, setAsDefault: $setAsDefault) {
    address { id } userErrors { field message } } }"""
CUSTOMER_RECOVER = """mutation CustomerRecover($email: String!) {
  customerRecover(email: $email) { customerUserErrors { code field message } } }"""


class ShopifyCommerce:
    """`Commerce` on a Shopify shop, through a custom app's Admin API access token."""

    def __init__(
        self,
        shop_url: str,
        access_token: str,
        *,
        api_version: str = API_VERSION,
        storefront_access_token: str | None = None,
        notify_customer: bool = True,
        restock: bool = True,
        reset_link_valid_for: timedelta = timedelta(hours=24),
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        cancel_job_polls: int = 5,
        cancel_job_poll_interval: float = 0.5,
    ) -> None:
        if not access_token.strip():
            raise BackendConfigError(
                "ShopifyCommerce: access_token is empty; give the Admin API access token of "
                "the shop's custom app (it starts with shpat_)"
            )
        if not re.fullmatch(r"\d{4}-\d{2}|unstable", api_version):
            raise BackendConfigError(
                f"ShopifyCommerce: api_version {api_version!r} is not a Shopify API version; "
                f"use a dated version such as {API_VERSION!r} (2025-07 or later)"
            )
        self.retry = retry or RetryPolicy()
        self.notify_customer = notify_customer
        self.restock = restock
        self.reset_link_valid_for = reset_link_valid_for
        self.cancel_job_polls = cancel_job_polls
        self.cancel_job_poll_interval = cancel_job_poll_interval
        self._admin = _GraphQL(
            HttpClient(
                "Shopify Admin API",
                shop_url,
                headers={"X-Shopify-Access-Token": access_token},
                timeout=timeout,
                retry=self.retry,
            ),
            f"/admin/api/{api_version}/graphql.json",
        )
        self._storefront = None
        if storefront_access_token:
            self._storefront = _GraphQL(
                HttpClient(
                    "Shopify Storefront API",
                    shop_url,
                    headers={"Shopify-Storefront-Private-Token": storefront_access_token},
                    timeout=timeout,
                    retry=self.retry,
                ),
                f"/api/{api_version}/graphql.json",
            )
        self._recent = _Recent()

    def close(self) -> None:
        self._admin.http.close()
        if self._storefront is not None:
            self._storefront.http.close()

    def __enter__(self) -> ShopifyCommerce:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # lookups

    def find_customer_by_email(self, email: str) -> str | None:
        wanted = fold(email)
        if not wanted:
            return None
        data = self._admin(FIND_CUSTOMERS, {"query": f"email:{_quoted(email.strip())}"})
        matches = (c for c in _nodes(data.get("customers")) if fold(_email(c)) == wanted)
        return next((_tail(c["id"]) for c in matches), None)

    def find_customer_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str | None:
        query = f"first_name:{_quoted(first_name.strip())} last_name:{_quoted(last_name.strip())}"
        data = self._admin(FIND_CUSTOMERS, {"query": query})
        for raw in _nodes(data.get("customers")):
            address = raw.get("defaultAddress") or {}
            if (
                fold(raw.get("firstName") or "") == fold(first_name)
                and fold(raw.get("lastName") or "") == fold(last_name)
                and _postcode(address.get("zip") or "") == _postcode(zip)
            ):
                return _tail(raw["id"])
        return None

    def get_customer(self, user_id: str) -> Customer | None:
        raw = self._raw_customer(user_id)
        return None if raw is None else _customer(raw)

    def get_order(self, order_id: str) -> Order | None:
        raw = self._raw_order(order_id)
        return None if raw is None else _order(raw)

    def get_product(self, product_id: str) -> Product | None:
        if not product_id.strip().isdigit():
            return None
        data = self._admin(GET_PRODUCT, {"id": _gid("Product", product_id)})
        raw = data.get("product")
        return None if raw is None else _product(raw)

    def product_of_item(self, item_id: str) -> Product | None:
        if not item_id.strip().isdigit():
            return None
        data = self._admin(PRODUCT_OF_VARIANT, {"id": _gid("ProductVariant", item_id)})
        raw = (data.get("productVariant") or {}).get("product")
        return None if raw is None else _product(raw)

    # changes

    def cancel_pending_order(self, order_id: str, reason: str, key: str) -> Order:
        if (done := self._recent.get(key, Order)) is not None:
            return done
        raw = self._existing_order(order_id)
        if _ref(key) in ((raw.get("cancellation") or {}).get("staffNote") or ""):
            return self._recent.put(key, _order(raw))  # this key cancelled it already
        order = _order(raw)
        if order.status != "pending":
            raise CommerceError("Non-pending order cannot be cancelled")
        if reason not in CANCEL_REASONS:
            raise CommerceError("Invalid reason")
        variables = {
            "orderId": raw["id"],
            "reason": "CUSTOMER",
            "refundMethod": {"originalPaymentMethodsRefund": True},
            "restock": self.restock,
            "notifyCustomer": self.notify_customer,
            "staffNote": f"frontdesk: {reason} {_ref(key)}",
        }
        payload = self._admin(ORDER_CANCEL, variables, replay_safe=False).get("orderCancel") or {}
        _refuse(payload.get("orderCancelUserErrors"))
        self._wait_for_job((payload.get("job") or {}).get("id"))
        fresh = self._raw_order(order.order_id)
        result = _order(fresh) if fresh is not None else order
        if result.status != "cancelled":  # Shopify's cancel job has not finished yet
            result.status, result.cancel_reason = "cancelled", reason
        return self._recent.put(key, result)

    def modify_pending_order_address(self, order_id: str, address: Address, key: str) -> Order:
        if (done := self._recent.get(key, Order)) is not None:
            return done
        raw = self._existing_order(order_id)
        if "pending" not in _order(raw).status:
            raise CommerceError("Non-pending order cannot be modified")
        shipping = _address_input(address, raw.get("shippingAddress") or {})
        variables = {"input": {"id": raw["id"], "shippingAddress": shipping}}
        # Setting the same address again changes nothing: safe to replay.
        data = self._admin(ORDER_UPDATE, variables, replay_safe=True)
        payload = data.get("orderUpdate") or {}
        _refuse(payload.get("userErrors"))
        updated = payload.get("order") or self._existing_order(order_id)
        return self._recent.put(key, _order(updated))

    def return_delivered_order_items(
        self, order_id: str, item_ids: list[str], payment_method_id: str, key: str
    ) -> Order:
        if (done := self._recent.get(key, Order)) is not None:
            return done
        raw = self._existing_order(order_id)
        notes = (
            line.get("customerNote") or ""
            for ret in _nodes(raw.get("returns"))
            for line in _nodes(ret.get("returnLineItems"))
        )
        if any(_ref(key) in note for note in notes):
            return self._recent.put(key, _order(raw))  # this key requested it already
        order = _order(raw)
        if order.status != "delivered":
            raise CommerceError("Non-delivered order cannot be returned")
        original = order.payment_history[0].payment_method_id if order.payment_history else None
        if payment_method_id != original:
            raise CommerceError("Payment method should be the original payment method")
        lines = _return_lines(raw, item_ids)
        note = f"Return requested through frontdesk {_ref(key)}"
        request = {
            "orderId": raw["id"],
            "returnLineItems": [
                {
                    "fulfillmentLineItemId": line,
                    "quantity": quantity,
                    "returnReason": "UNKNOWN",
                    "customerNote": note,
                }
                for line, quantity in lines.items()
            ],
        }
        data = self._admin(RETURN_REQUEST, {"input": request}, replay_safe=False)
        _refuse((data.get("returnRequest") or {}).get("userErrors"))
        return self._recent.put(key, _order(self._existing_order(order_id)))

    def modify_user_address(self, user_id: str, address: Address, key: str) -> Customer:
        if (done := self._recent.get(key, Customer)) is not None:
            return done
        raw = self._raw_customer(user_id)
        if raw is None:
            raise CommerceError("User not found")
        default = raw.get("defaultAddress")
        names = default or {"firstName": raw.get("firstName"), "lastName": raw.get("lastName")}
        variables = {
            "customerId": raw["id"],
            "address": _address_input(address, names),
            "setAsDefault": True,
        }
        if default:  # updating the default address to the same values twice changes nothing
            update = {**variables, "addressId": default["id"]}
            data = self._admin(ADDRESS_UPDATE, update, replay_safe=True)
            payload = data.get("customerAddressUpdate") or {}
        else:
            data = self._admin(ADDRESS_CREATE, variables, replay_safe=False)
            payload = data.get("customerAddressCreate") or {}
        _refuse(payload.get("userErrors"))
        fresh = self._raw_customer(user_id)
        if fresh is None:
            raise CommerceError("User not found")
        return self._recent.put(key, _customer(fresh))

    def start_password_reset(self, user_id: str, key: str) -> PasswordReset:
        if (done := self._recent.get(key, PasswordReset)) is not None:
            return done
        customer = self.get_customer(user_id)
        if customer is None:
            raise CommerceError("User not found")
        if self._storefront is None:
            raise CommerceError(_unsupported("Password reset without a storefront access token"))
        if not customer.email:
            raise CommerceError("The account has no email address to send a reset link to")
        data = self._storefront(CUSTOMER_RECOVER, {"email": customer.email}, replay_safe=False)
        _refuse((data.get("customerRecover") or {}).get("customerUserErrors"))
        reset = PasswordReset(
            user_id=user_id,
            sent_to=customer.email,
            expires_at=utcnow() + self.reset_link_valid_for,
        )
        return self._recent.put(key, reset)

    def modify_pending_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        key: str,
    ) -> Order:
        raise CommerceError(_unsupported("Changing the items of a pending order"))

    def modify_pending_order_payment(
        self, order_id: str, payment_method_id: str, key: str
    ) -> Order:
        raise CommerceError(_unsupported("Changing the payment method of an order"))

    def exchange_delivered_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        key: str,
    ) -> Order:
        raise CommerceError(_unsupported("Exchanging delivered items"))

    # plumbing

    def _raw_customer(self, user_id: str) -> dict[str, Any] | None:
        if not user_id.strip().isdigit():
            return None
        return self._admin(GET_CUSTOMER, {"id": _gid("Customer", user_id)}).get("customer")

    def _raw_order(self, order_id: str) -> dict[str, Any] | None:
        name = order_id.strip()
        if name.isdigit():
            name = f"#{name}"
        if not name:
            return None
        data = self._admin(FIND_ORDER, {"query": f"name:{_quoted(name)}"})
        return next((o for o in _nodes(data.get("orders")) if o.get("name") == name), None)

    def _existing_order(self, order_id: str) -> dict[str, Any]:
        raw = self._raw_order(order_id)
        if raw is None:
            raise CommerceError("Order not found")
        return raw

    def _wait_for_job(self, job_id: str | None) -> None:
        for _ in range(self.cancel_job_polls if job_id else 0):
            if (self._admin(JOB, {"id": job_id}).get("job") or {}).get("done"):
                return
            self.retry.sleep(self.cancel_job_poll_interval)


class _GraphQL:
    """POST a document and its variables; return `data`, or raise `BackendError`."""

    def __init__(self, http: HttpClient, path: str) -> None:
        self.http = http
        self.path = path

    def __call__(
        self, document: str, variables: dict[str, Any], *, replay_safe: bool = True
    ) -> dict[str, Any]:
        response = self.http.request(
            "POST",
            self.path,
            json={"query": document, "variables": variables},
            replay_safe=replay_safe,
            throttled=_throttle_wait,
        )
        service = self.http.service
        if response.status_code in (401, 403):
            raise BackendError(
                service,
                "the access token was rejected or lacks an access scope",
                status_code=response.status_code,
                body=response.text,
            )
        if response.status_code != 200:
            raise BackendError(
                service, "unexpected reply", status_code=response.status_code, body=response.text
            )
        try:
            payload = response.json()
        except ValueError:
            raise BackendError(service, "the reply is not JSON", status_code=200) from None
        if payload.get("errors"):
            raise BackendError(
                service, f"GraphQL errors: {_messages(payload['errors'])}", status_code=200
            )
        return payload.get("data") or {}


class _Recent:
    """The last results by idempotency key, so a key repeated within this process acts once."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._items: OrderedDict[str, BaseModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, kind: type[Result]) -> Result | None:
        with self._lock:
            item = self._items.get(key)
            return item.model_copy(deep=True) if isinstance(item, kind) else None

    def put(self, key: str, result: Result) -> Result:
        with self._lock:
            self._items[key] = result.model_copy(deep=True)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return result


# mapping Shopify objects to frontdesk records


def _customer(raw: dict[str, Any]) -> Customer:
    orders = _nodes(raw.get("orders"))
    methods: dict[str, PaymentMethod] = {}
    for order in orders:
        for tx in order.get("transactions") or []:
            if tx.get("status") == "SUCCESS" and tx.get("kind") in PAYMENT_KINDS:
                method = _payment_method(tx)
                methods.setdefault(method.id, method)
    return Customer(
        user_id=_tail(raw["id"]),
        name=Name(first_name=raw.get("firstName") or "", last_name=raw.get("lastName") or ""),
        address=_address(raw.get("defaultAddress")),
        email=_email(raw),
        payment_methods=methods,
        orders=[order["name"] for order in orders],
    )


def _product(raw: dict[str, Any]) -> Product:
    variants = {}
    for variant in _nodes(raw.get("variants")):
        item_id = _tail(variant["id"])
        variants[item_id] = Variant(
            item_id=item_id,
            options=_options(variant),
            available=bool(variant.get("availableForSale")),
            price=round(float(variant.get("price") or 0), 2),
        )
    return Product(name=raw.get("title") or "", product_id=_tail(raw["id"]), variants=variants)


def _order(raw: dict[str, Any]) -> Order:
    variant_of: dict[str, str] = {}  # line item GID → item_id
    items = []
    for line in _nodes(raw.get("lineItems")):
        variant = line.get("variant") or {}
        item_id = _tail(variant["id"]) if variant.get("id") else ""
        variant_of[line["id"]] = item_id
        product = variant.get("product") or {}
        items += [
            OrderItem(
                name=line.get("title") or "",
                product_id=_tail(product["id"]) if product.get("id") else "",
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
                for part in _nodes(f.get("fulfillmentLineItems"))
                for _ in range(int(part.get("quantity") or 0))
            ],
        )
        for f in raw.get("fulfillments") or []
    ]
    history = _payments(raw.get("transactions") or [])
    customer = raw.get("customer") or {}
    order = Order(
        order_id=raw["name"],
        user_id=_tail(customer["id"]) if customer.get("id") else "",
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
    for ret in _nodes(raw.get("returns")):
        if ret.get("status") not in OPEN_RETURNS:
            continue
        for line in _nodes(ret.get("returnLineItems")):
            part = line.get("fulfillmentLineItem") or {}
            item_id = variant_of.get((part.get("lineItem") or {}).get("id", ""), "")
            items += [item_id] * int(line.get("quantity") or 0)
    return sorted(items)


def _status(raw: dict[str, Any]) -> OrderStatus:
    if raw.get("cancelledAt"):
        return "cancelled"
    if any(ret.get("status") in OPEN_RETURNS for ret in _nodes(raw.get("returns"))):
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


def _return_lines(raw: dict[str, Any], item_ids: list[str]) -> Counter[str]:
    """Fulfillment line item GID → quantity for the requested item ids (one id per unit)."""
    variant_of = {
        line["id"]: _tail((line.get("variant") or {}).get("id") or "")
        for line in _nodes(raw.get("lineItems"))
    }
    units = [
        (part["id"], variant_of.get((part.get("lineItem") or {}).get("id", ""), ""))
        for f in raw.get("fulfillments") or []
        for part in _nodes(f.get("fulfillmentLineItems"))
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


def _address_input(address: Address, names: dict[str, Any]) -> dict[str, Any]:
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


def _email(raw: dict[str, Any]) -> str:
    return (raw.get("defaultEmailAddress") or {}).get("emailAddress") or ""


def _money(money: dict[str, Any] | None) -> float:
    return round(float(((money or {}).get("shopMoney") or {}).get("amount") or 0), 2)


def _nodes(connection: dict[str, Any] | None) -> list[dict[str, Any]]:
    return (connection or {}).get("nodes") or []


def _gid(kind: str, number: str) -> str:
    return f"gid://shopify/{kind}/{number.strip()}"


def _tail(gid: str) -> str:
    return gid.rsplit("/", 1)[-1].split("?", 1)[0]


def _quoted(value: str) -> str:
    """A value for Shopify's search syntax (`email:"…"`), quoted so spaces and colons stay in."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _postcode(value: str) -> str:
    return fold(value).replace(" ", "")


def _ref(key: str) -> str:
    """The marker a change leaves in Shopify; long keys are hashed to fit Shopify's note sizes."""
    short = key if len(key) <= 120 else hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"[ref {short}]"


def _refuse(errors: list[dict[str, Any]] | None) -> None:
    if errors:
        raise CommerceError("; ".join(e.get("message") or "refused" for e in errors))


def _unsupported(what: str) -> str:
    return f"{what} is not supported by the Shopify adapter; transfer the customer to a person"


def _messages(errors: Any) -> str:
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )
    return str(errors)


def _throttle_wait(response: httpx.Response) -> float | None:
    """Seconds to wait when Shopify answered THROTTLED (the query was not executed), else None."""
    if response.status_code != 200 or b"THROTTLED" not in response.content:
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list) or not any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED"
        for e in errors
    ):
        return None
    cost = (payload.get("extensions") or {}).get("cost") or {}
    bucket = cost.get("throttleStatus") or {}
    try:
        missing = float(cost["requestedQueryCost"]) - float(bucket["currentlyAvailable"])
        return max(missing / float(bucket["restoreRate"]), 0.0)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return 1.0
