"""`ShopifyCommerce`: the `Commerce` protocol's lookups and changes as Shopify calls."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

from frontdesk.clock import utcnow
from frontdesk.commerce.base import CHANGE_NAMES, EVERY_CHANGE, Change, CommerceError, unsupported
from frontdesk.commerce.eligibility import allows
from frontdesk.commerce.embedded import CANCEL_REASONS, fold
from frontdesk.commerce.http import BackendConfigError, HttpClient, RetryPolicy
from frontdesk.commerce.models import Address, Customer, Order, PasswordReset, Product
from frontdesk.commerce.shopify.client import GraphQL, Recent
from frontdesk.commerce.shopify.mapping import (
    address_input,
    customer_from,
    email_of,
    gid_number,
    make_gid,
    nodes,
    order_from,
    postcode,
    product_from,
    quoted,
    return_lines,
)
from frontdesk.commerce.shopify.queries import (
    ADDRESS_CREATE,
    ADDRESS_UPDATE,
    CUSTOMER_RECOVER,
    FIND_CUSTOMERS,
    FIND_ORDER,
    GET_CUSTOMER,
    GET_PRODUCT,
    JOB,
    ORDER_CANCEL,
    ORDER_UPDATE,
    PRODUCT_OF_VARIANT,
    RETURN_REQUEST,
)

API_VERSION = "2025-10"
# Changes Shopify cannot make the way the protocol asks; docs/adapters.md says why.
UNSUPPORTED = frozenset(
    {
        Change.MODIFY_PENDING_ORDER_ITEMS,
        Change.MODIFY_PENDING_ORDER_PAYMENT,
        Change.EXCHANGE_DELIVERED_ORDER_ITEMS,
    }
)


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
        self.capabilities: frozenset[Change] = EVERY_CHANGE - UNSUPPORTED
        if not storefront_access_token:  # password resets go through the Storefront API
            self.capabilities -= {Change.START_PASSWORD_RESET}
        self._admin = GraphQL(
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
            self._storefront = GraphQL(
                HttpClient(
                    "Shopify Storefront API",
                    shop_url,
                    headers={"Shopify-Storefront-Private-Token": storefront_access_token},
                    timeout=timeout,
                    retry=self.retry,
                ),
                f"/api/{api_version}/graphql.json",
            )
        self._recent = Recent()

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
        data = self._admin(FIND_CUSTOMERS, {"query": f"email:{quoted(email.strip())}"})
        matches = (c for c in nodes(data.get("customers")) if fold(email_of(c)) == wanted)
        return next((gid_number(c["id"]) for c in matches), None)

    def find_customer_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str | None:
        query = f"first_name:{quoted(first_name.strip())} last_name:{quoted(last_name.strip())}"
        data = self._admin(FIND_CUSTOMERS, {"query": query})
        for raw in nodes(data.get("customers")):
            address = raw.get("defaultAddress") or {}
            if (
                fold(raw.get("firstName") or "") == fold(first_name)
                and fold(raw.get("lastName") or "") == fold(last_name)
                and postcode(address.get("zip") or "") == postcode(zip)
            ):
                return gid_number(raw["id"])
        return None

    def get_customer(self, user_id: str) -> Customer | None:
        raw = self._raw_customer(user_id)
        return None if raw is None else customer_from(raw)

    def get_order(self, order_id: str) -> Order | None:
        raw = self._raw_order(order_id)
        return None if raw is None else order_from(raw)

    def get_product(self, product_id: str) -> Product | None:
        if not product_id.strip().isdigit():
            return None
        data = self._admin(GET_PRODUCT, {"id": make_gid("Product", product_id)})
        raw = data.get("product")
        return None if raw is None else product_from(raw)

    def product_of_item(self, item_id: str) -> Product | None:
        if not item_id.strip().isdigit():
            return None
        data = self._admin(PRODUCT_OF_VARIANT, {"id": make_gid("ProductVariant", item_id)})
        raw = (data.get("productVariant") or {}).get("product")
        return None if raw is None else product_from(raw)

    # changes

    def cancel_pending_order(self, order_id: str, reason: str, key: str) -> Order:
        if (done := self._recent.get(key, Order)) is not None:
            return done
        raw = self._existing_order(order_id)
        if _ref(key) in ((raw.get("cancellation") or {}).get("staffNote") or ""):
            return self._recent.put(key, order_from(raw))  # this key cancelled it already
        order = order_from(raw)
        if not allows(order.status, Change.CANCEL_PENDING_ORDER):
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
        result = order_from(fresh) if fresh is not None else order
        if result.status != "cancelled":  # Shopify's cancel job has not finished yet
            result.status, result.cancel_reason = "cancelled", reason
        return self._recent.put(key, result)

    def modify_pending_order_address(self, order_id: str, address: Address, key: str) -> Order:
        if (done := self._recent.get(key, Order)) is not None:
            return done
        raw = self._existing_order(order_id)
        if not allows(order_from(raw).status, Change.MODIFY_PENDING_ORDER_ADDRESS):
            raise CommerceError("Non-pending order cannot be modified")
        shipping = address_input(address, raw.get("shippingAddress") or {})
        variables = {"input": {"id": raw["id"], "shippingAddress": shipping}}
        # Setting the same address again changes nothing: safe to replay.
        data = self._admin(ORDER_UPDATE, variables, replay_safe=True)
        payload = data.get("orderUpdate") or {}
        _refuse(payload.get("userErrors"))
        updated = payload.get("order") or self._existing_order(order_id)
        return self._recent.put(key, order_from(updated))

    def return_delivered_order_items(
        self, order_id: str, item_ids: list[str], payment_method_id: str, key: str
    ) -> Order:
        if (done := self._recent.get(key, Order)) is not None:
            return done
        raw = self._existing_order(order_id)
        notes = (
            line.get("customerNote") or ""
            for ret in nodes(raw.get("returns"))
            for line in nodes(ret.get("returnLineItems"))
        )
        if any(_ref(key) in note for note in notes):
            return self._recent.put(key, order_from(raw))  # this key requested it already
        order = order_from(raw)
        if not allows(order.status, Change.RETURN_DELIVERED_ORDER_ITEMS):
            raise CommerceError("Non-delivered order cannot be returned")
        original = order.payment_history[0].payment_method_id if order.payment_history else None
        if payment_method_id != original:
            raise CommerceError("Payment method should be the original payment method")
        lines = return_lines(raw, item_ids)
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
        return self._recent.put(key, order_from(self._existing_order(order_id)))

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
            "address": address_input(address, names),
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
        return self._recent.put(key, customer_from(fresh))

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
        raise CommerceError(_unsupported(CHANGE_NAMES[Change.MODIFY_PENDING_ORDER_ITEMS]))

    def modify_pending_order_payment(
        self, order_id: str, payment_method_id: str, key: str
    ) -> Order:
        raise CommerceError(_unsupported(CHANGE_NAMES[Change.MODIFY_PENDING_ORDER_PAYMENT]))

    def exchange_delivered_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        key: str,
    ) -> Order:
        raise CommerceError(_unsupported(CHANGE_NAMES[Change.EXCHANGE_DELIVERED_ORDER_ITEMS]))

    # plumbing

    def _raw_customer(self, user_id: str) -> dict[str, Any] | None:
        if not user_id.strip().isdigit():
            return None
        return self._admin(GET_CUSTOMER, {"id": make_gid("Customer", user_id)}).get("customer")

    def _raw_order(self, order_id: str) -> dict[str, Any] | None:
        name = order_id.strip()
        if name.isdigit():
            name = f"#{name}"
        if not name:
            return None
        data = self._admin(FIND_ORDER, {"query": f"name:{quoted(name)}"})
        return next((o for o in nodes(data.get("orders")) if o.get("name") == name), None)

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


def _ref(key: str) -> str:
    """The marker a change leaves in Shopify; long keys are hashed to fit Shopify's note sizes."""
    short = key if len(key) <= 120 else hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"[ref {short}]"


def _refuse(errors: list[dict[str, Any]] | None) -> None:
    if errors:
        raise CommerceError("; ".join(e.get("message") or "refused" for e in errors))


def _unsupported(what: str) -> str:
    return unsupported(what, "the Shopify adapter")
