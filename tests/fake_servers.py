"""Local servers speaking the Shopify Admin/Storefront GraphQL and Salesforce REST wire formats.

They hold a small shop and a case table in memory, check what they receive (paths, headers,
operations and variables, JSON bodies) against the documented shapes, answer with the documented
response shapes, and record every request. `faults` queues canned replies (429, 5xx, THROTTLED)
that are served instead of the real answer, optionally only to one GraphQL operation.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from server import free_port

JSON = dict[str, Any]


@dataclass
class Fault:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    operation: str | None = None  # GraphQL operation name; None: the next request of any kind


def throttled_reply(requested: int = 100, available: int = 50, restore: float = 50.0) -> Fault:
    """Shopify's answer when the cost bucket is empty: HTTP 200, THROTTLED, the bucket's state."""
    return Fault(
        200,
        {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits",
                    },
                }
            ],
            "extensions": {
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": None,
                    "throttleStatus": {
                        "maximumAvailable": 1000.0,
                        "currentlyAvailable": available,
                        "restoreRate": restore,
                    },
                }
            },
        },
    )


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def _take_fault(faults: list[Fault], operation: str | None) -> Fault | None:
    for fault in faults:
        if fault.operation is None or fault.operation == operation:
            faults.remove(fault)
            return fault
    return None


def _reply(fault: Fault) -> Response:
    if isinstance(fault.body, str):
        return Response(fault.body, status_code=fault.status, headers=fault.headers)
    return JSONResponse(fault.body, status_code=fault.status, headers=fault.headers)


# Shopify


class GraphQLError(Exception):
    """A top-level GraphQL error, such as a variable of the wrong type."""


ADDRESS_INPUT = {
    "address1",
    "address2",
    "city",
    "company",
    "countryCode",
    "firstName",
    "lastName",
    "phone",
    "provinceCode",
    "zip",
}
CANCEL_REASONS = {"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"}
RETURN_REASONS = {
    "COLOR",
    "DEFECTIVE",
    "NOT_AS_DESCRIBED",
    "OTHER",
    "SIZE_TOO_LARGE",
    "SIZE_TOO_SMALL",
    "STYLE",
    "UNKNOWN",
    "UNWANTED",
    "WRONG_ITEM",
}


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def mailing(number: int, address1: str, city: str, province: str, zip: str, first: str, last: str):
    return {
        "id": f"{gid('MailingAddress', number)}?model_name=CustomerAddress",
        "address1": address1,
        "address2": "",
        "city": city,
        "provinceCode": province,
        "countryCodeV2": "US",
        "zip": zip,
        "firstName": first,
        "lastName": last,
    }


def variant(number: int, price: str, available: bool, **options: str) -> JSON:
    return {
        "id": gid("ProductVariant", number),
        "price": price,
        "availableForSale": available,
        "selectedOptions": [{"name": k.capitalize(), "value": v} for k, v in options.items()],
    }


def money(amount: str) -> JSON:
    return {"shopMoney": {"amount": amount, "currencyCode": "USD"}}


def transaction(kind: str, gateway: str, amount: str, card: JSON | None = None) -> JSON:
    return {
        "kind": kind,
        "status": "SUCCESS",
        "gateway": gateway,
        "amountSet": money(amount),
        "paymentDetails": {"__typename": "CardPaymentDetails", **card} if card else None,
    }


class FakeShopify:
    version = "2025-10"
    admin_token = "shpat_fake_admin"
    storefront_token = "fake_storefront_private"

    def __init__(self) -> None:
        self.app = FastAPI()
        self.app.post("/admin/api/{version}/graphql.json")(self._admin)
        self.app.post("/api/{version}/graphql.json")(self._storefront)
        self.reset()

    def reset(self) -> None:
        self.requests: list[JSON] = []
        self.faults: list[Fault] = []
        self.refuse_cancel: dict[str, str] = {}  # order GID → the userError message
        self.recovered: list[str] = []
        self._next = 900
        shirt, mug = gid("Product", 201), gid("Product", 202)
        self.products = {
            shirt: {
                "id": shirt,
                "title": "Linen Shirt",
                "variants": [
                    variant(301, "48.00", True, color="white", size="M"),
                    variant(302, "48.00", True, color="navy", size="L"),
                    variant(303, "52.00", False, color="sand", size="XL"),
                ],
            },
            mug: {
                "id": mug,
                "title": "Ceramic Mug",
                "variants": [
                    variant(311, "18.00", True, color="blue", capacity="300ml"),
                    variant(312, "22.00", True, color="white", capacity="450ml"),
                ],
            },
        }
        visa = {"company": "Visa", "number": "•••• •••• •••• 4242"}
        self.customers = {
            gid("Customer", 101): {
                "id": gid("Customer", 101),
                "firstName": "Ada",
                "lastName": "Lovelace",
                "defaultEmailAddress": {"emailAddress": "Ada.Lovelace@example.com"},
                "defaultAddress": mailing(
                    501, "12 Harbour Street", "Boston", "MA", "02110", "Ada", "Lovelace"
                ),
                "orders": ["#1001", "#1002"],
            },
            gid("Customer", 102): {
                "id": gid("Customer", 102),
                "firstName": "Ada",
                "lastName": "Lovelace",
                "defaultEmailAddress": {"emailAddress": "ada@example.org"},
                "defaultAddress": mailing(
                    502, "1 Market Street", "San Francisco", "CA", "94105", "Ada", "Lovelace"
                ),
                "orders": [],
            },
            gid("Customer", 103): {
                "id": gid("Customer", 103),
                "firstName": "Grace",
                "lastName": "Hopper",
                "defaultEmailAddress": {"emailAddress": "grace@example.com"},
                "defaultAddress": None,
                "orders": ["#1003"],
            },
        }
        self.orders = {
            "#1001": self._order(
                401,
                "#1001",
                101,
                "UNFULFILLED",
                [(601, 301, 1, "48.00"), (602, 311, 2, "18.00")],
                [transaction("SALE", "shopify_payments", "84.00", visa)],
            ),
            "#1002": self._order(
                402,
                "#1002",
                101,
                "FULFILLED",
                [(603, 302, 1, "48.00"), (604, 312, 2, "22.00")],
                [transaction("SALE", "paypal", "92.00")],
            ),
            "#1003": self._order(
                403,
                "#1003",
                103,
                "UNFULFILLED",
                [(605, 301, 1, "48.00")],
                [
                    transaction(
                        "AUTHORIZATION",
                        "shopify_payments",
                        "48.00",
                        {"company": "Mastercard", "number": "•••• 5454"},
                    )
                ],
            ),
        }
        self.orders["#1002"]["fulfillments"] = [
            {
                "displayStatus": "DELIVERED",
                "trackingInfo": [{"number": "1Z999AA10123456784"}],
                "fulfillmentLineItems": {
                    "nodes": [
                        {
                            "id": gid("FulfillmentLineItem", 701),
                            "quantity": 1,
                            "lineItem": {"id": gid("LineItem", 603)},
                        },
                        {
                            "id": gid("FulfillmentLineItem", 702),
                            "quantity": 2,
                            "lineItem": {"id": gid("LineItem", 604)},
                        },
                    ]
                },
            }
        ]

    def _order(self, number, name, customer, fulfilment, lines, transactions) -> JSON:
        owner = self.customers[gid("Customer", customer)]
        line_items = []
        for line, item, quantity, price in lines:
            product = next(
                p
                for p in self.products.values()
                if any(v["id"] == gid("ProductVariant", item) for v in p["variants"])
            )
            chosen = next(v for v in product["variants"] if v["id"] == gid("ProductVariant", item))
            line_items.append(
                {
                    "id": gid("LineItem", line),
                    "title": product["title"],
                    "quantity": quantity,
                    "originalUnitPriceSet": money(price),
                    "variant": {
                        "id": chosen["id"],
                        "selectedOptions": chosen["selectedOptions"],
                        "product": {"id": product["id"]},
                    },
                }
            )
        address = owner["defaultAddress"] or mailing(
            509, "5 Navy Yard", "Arlington", "VA", "22202", owner["firstName"], owner["lastName"]
        )
        return {
            "id": gid("Order", number),
            "name": name,
            "cancelledAt": None,
            "cancelReason": None,
            "cancellation": None,
            "displayFulfillmentStatus": fulfilment,
            "customer": {"id": owner["id"]},
            "shippingAddress": copy.deepcopy(address),
            "lineItems": {"nodes": line_items},
            "fulfillments": [],
            "transactions": transactions,
            "returns": {"nodes": []},
        }

    # what tests look at

    def calls(self, operation: str) -> list[JSON]:
        return [r["variables"] for r in self.requests if r["operation"] == operation]

    def order(self, name: str) -> JSON:
        return self.orders[name]

    # the wire

    async def _admin(self, request: Request, version: str) -> Response:
        return await self._serve(request, version, "admin", self.admin_token)

    async def _storefront(self, request: Request, version: str) -> Response:
        return await self._serve(request, version, "storefront", self.storefront_token)

    async def _serve(self, request: Request, version: str, api: str, token: str) -> Response:
        body = await request.json()
        document = body.get("query") or ""
        match = re.match(r"\s*(query|mutation)\s+(\w+)", document)
        operation = match.group(2) if match else None
        variables = body.get("variables") or {}
        self.requests.append(
            {
                "api": api,
                "path": request.url.path,
                "headers": dict(request.headers),
                "operation": operation,
                "document": document,
                "variables": copy.deepcopy(variables),
            }
        )
        fault = _take_fault(self.faults, operation)
        if fault is not None:
            return _reply(fault)
        if version != self.version:
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        header = "x-shopify-access-token" if api == "admin" else "shopify-storefront-private-token"
        if request.headers.get(header) != token:
            message = "[API] Invalid API key or access token (unrecognized login or wrong password)"
            return JSONResponse({"errors": message}, status_code=401)
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return JSONResponse({"errors": "Content-Type must be application/json"}, 400)
        handler = getattr(self, f"_{api}_{operation}", None)
        if handler is None or match is None:
            return JSONResponse({"errors": [{"message": f"unknown operation {operation}"}]})
        try:
            data = handler(variables)
        except GraphQLError as exc:
            return JSONResponse({"errors": [{"message": str(exc)}]})
        cost = {
            "requestedQueryCost": 10,
            "actualQueryCost": 5,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": 995,
                "restoreRate": 50.0,
            },
        }
        return JSONResponse({"data": data, "extensions": {"cost": cost}})

    # Admin API operations

    def _admin_FindCustomers(self, variables: JSON) -> JSON:
        terms = dict(re.findall(r'(\w+):"((?:[^"\\]|\\.)*)"', _required(variables, "query")))
        if not terms or set(terms) - {"email", "first_name", "last_name"}:
            raise GraphQLError(f"search terms not understood: {variables['query']}")
        found = []
        for customer in self.customers.values():
            values = {
                "email": customer["defaultEmailAddress"]["emailAddress"],
                "first_name": customer["firstName"],
                "last_name": customer["lastName"],
            }
            if all(values[term].lower() == wanted.lower() for term, wanted in terms.items()):
                found.append(self._customer_view(customer))
        return {"customers": {"nodes": found}}

    def _admin_GetCustomer(self, variables: JSON) -> JSON:
        customer = self.customers.get(_required(variables, "id"))
        return {"customer": None if customer is None else self._customer_view(customer)}

    def _admin_FindOrder(self, variables: JSON) -> JSON:
        wanted = re.fullmatch(r'name:"([^"]+)"', _required(variables, "query"))
        if wanted is None:
            raise GraphQLError(f"expected a name search, got {variables['query']}")
        order = self.orders.get(wanted.group(1))
        return {"orders": {"nodes": [] if order is None else [copy.deepcopy(order)]}}

    def _admin_GetProduct(self, variables: JSON) -> JSON:
        product = self.products.get(_required(variables, "id"))
        return {"product": None if product is None else self._product_view(product)}

    def _admin_ProductOfVariant(self, variables: JSON) -> JSON:
        wanted = _required(variables, "id")
        for product in self.products.values():
            if any(v["id"] == wanted for v in product["variants"]):
                return {"productVariant": {"id": wanted, "product": self._product_view(product)}}
        return {"productVariant": None}

    def _admin_OrderCancel(self, variables: JSON) -> JSON:
        order = self._order_by_gid(_required(variables, "orderId"))
        if _required(variables, "reason") not in CANCEL_REASONS:
            raise GraphQLError(
                "Variable $reason of type OrderCancelReason! was provided invalid value"
            )
        refund = _required(variables, "refundMethod")
        if not isinstance(refund, dict) or set(refund) - {
            "originalPaymentMethodsRefund",
            "storeCreditRefund",
        }:
            raise GraphQLError("Variable $refundMethod of type OrderCancelRefundMethodInput!")
        if not isinstance(_required(variables, "restock"), bool):
            raise GraphQLError("Variable $restock of type Boolean! was provided invalid value")
        errors = []
        if order["id"] in self.refuse_cancel:
            errors.append(
                {
                    "field": ["orderId"],
                    "message": self.refuse_cancel[order["id"]],
                    "code": "INVALID",
                }
            )
        elif order["cancelledAt"]:
            errors.append(
                {
                    "field": ["orderId"],
                    "message": "Order has already been cancelled",
                    "code": "INVALID",
                }
            )
        if errors:
            return {"orderCancel": {"job": None, "orderCancelUserErrors": errors, "userErrors": []}}
        order["cancelledAt"] = "2026-05-09T10:00:00Z"
        order["cancelReason"] = variables["reason"]
        order["cancellation"] = {"staffNote": variables.get("staffNote")}
        if refund.get("originalPaymentMethodsRefund"):
            for tx in list(order["transactions"]):
                kind = {"SALE": "REFUND", "AUTHORIZATION": "VOID"}.get(tx["kind"])
                if kind:
                    order["transactions"].append({**copy.deepcopy(tx), "kind": kind})
        job = {"id": gid("Job", self._new_number()), "done": False}
        return {"orderCancel": {"job": job, "orderCancelUserErrors": [], "userErrors": []}}

    def _admin_Job(self, variables: JSON) -> JSON:
        return {"job": {"id": _required(variables, "id"), "done": True}}

    def _admin_OrderUpdate(self, variables: JSON) -> JSON:
        update = _required(variables, "input")
        order = self._order_by_gid(update.get("id"))
        address = update.get("shippingAddress")
        if address is not None:
            errors = self._check_address(address)
            if errors:
                return {"orderUpdate": {"order": None, "userErrors": errors}}
            order["shippingAddress"] = _mailing_from_input(order["shippingAddress"]["id"], address)
        return {"orderUpdate": {"order": copy.deepcopy(order), "userErrors": []}}

    def _admin_ReturnRequest(self, variables: JSON) -> JSON:
        request = _required(variables, "input")
        order = self._order_by_gid(request.get("orderId"))
        fulfilled = {
            part["id"]: part
            for f in order["fulfillments"]
            for part in f["fulfillmentLineItems"]["nodes"]
        }
        lines = []
        for line in request.get("returnLineItems") or []:
            if line.get("returnReason") not in RETURN_REASONS:
                raise GraphQLError("returnReason must be a ReturnReason")
            if len(line.get("customerNote") or "") > 300:
                raise GraphQLError("customerNote is longer than 300 characters")
            part = fulfilled.get(line.get("fulfillmentLineItemId"))
            if part is None or not 0 < line.get("quantity", 0) <= part["quantity"]:
                error = {
                    "field": ["input"],
                    "message": "Invalid return quantity",
                    "code": "INVALID",
                }
                return {"returnRequest": {"return": None, "userErrors": [error]}}
            lines.append(
                {
                    "quantity": line["quantity"],
                    "customerNote": line.get("customerNote"),
                    "returnReason": line["returnReason"],
                    "fulfillmentLineItem": {"id": part["id"], "lineItem": part["lineItem"]},
                }
            )
        created = {
            "id": gid("Return", self._new_number()),
            "status": "REQUESTED",
            "returnLineItems": {"nodes": lines},
        }
        order["returns"]["nodes"].append(created)
        reply = {"id": created["id"], "status": "REQUESTED"}
        return {"returnRequest": {"return": reply, "userErrors": []}}

    def _admin_CustomerAddressUpdate(self, variables: JSON) -> JSON:
        customer = self._customer_by_gid(_required(variables, "customerId"))
        address = _required(variables, "address")
        default = customer["defaultAddress"]
        if default is None or _required(variables, "addressId") != default["id"]:
            error = {"field": ["addressId"], "message": "Address does not exist"}
            return {"customerAddressUpdate": {"address": None, "userErrors": [error]}}
        errors = self._check_address(address)
        if errors:
            return {"customerAddressUpdate": {"address": None, "userErrors": errors}}
        customer["defaultAddress"] = _mailing_from_input(default["id"], address)
        reply = copy.deepcopy(customer["defaultAddress"])
        return {"customerAddressUpdate": {"address": reply, "userErrors": []}}

    def _admin_CustomerAddressCreate(self, variables: JSON) -> JSON:
        customer = self._customer_by_gid(_required(variables, "customerId"))
        address = _required(variables, "address")
        errors = self._check_address(address)
        if errors:
            return {"customerAddressCreate": {"address": None, "userErrors": errors}}
        number = self._new_number()
        created = _mailing_from_input(f"{gid('MailingAddress', number)}?model_name=x", address)
        if variables.get("setAsDefault"):
            customer["defaultAddress"] = created
        return {"customerAddressCreate": {"address": copy.deepcopy(created), "userErrors": []}}

    # Storefront API operations

    def _storefront_CustomerRecover(self, variables: JSON) -> JSON:
        email = _required(variables, "email")
        known = {c["defaultEmailAddress"]["emailAddress"].lower() for c in self.customers.values()}
        if email.lower() not in known:
            error = {
                "code": "UNIDENTIFIED_CUSTOMER",
                "field": ["email"],
                "message": "Could not find customer",
            }
            return {"customerRecover": {"customerUserErrors": [error], "userErrors": []}}
        self.recovered.append(email)
        return {"customerRecover": {"customerUserErrors": [], "userErrors": []}}

    # helpers

    def _customer_view(self, customer: JSON) -> JSON:
        view = copy.deepcopy(customer)
        view["orders"] = {
            "nodes": [
                {"name": name, "transactions": copy.deepcopy(self.orders[name]["transactions"][:3])}
                for name in customer["orders"]
            ]
        }
        return view

    def _product_view(self, product: JSON) -> JSON:
        return {**copy.deepcopy(product), "variants": {"nodes": copy.deepcopy(product["variants"])}}

    def _order_by_gid(self, order_gid: Any) -> JSON:
        order = next((o for o in self.orders.values() if o["id"] == order_gid), None)
        if order is None:
            raise GraphQLError(f"Invalid id: {order_gid}")
        return order

    def _customer_by_gid(self, customer_gid: Any) -> JSON:
        if customer_gid not in self.customers:
            raise GraphQLError(f"Invalid id: {customer_gid}")
        return self.customers[customer_gid]

    def _check_address(self, address: Any) -> list[JSON]:
        if not isinstance(address, dict) or set(address) - ADDRESS_INPUT:
            raise GraphQLError(f"MailingAddressInput has no such fields: {address}")
        if not re.fullmatch(r"[A-Z]{2}", address.get("countryCode") or ""):
            raise GraphQLError("countryCode must be a two-letter CountryCode")
        if address.get("zip") == "00000":
            return [{"field": ["shippingAddress", "zip"], "message": "Zip is invalid"}]
        return []

    def _new_number(self) -> int:
        self._next += 1
        return self._next


def _required(variables: JSON, name: str) -> Any:
    if variables.get(name) is None:
        raise GraphQLError(f"Variable ${name} is required but was not provided")
    return variables[name]


def _mailing_from_input(address_id: str, address: JSON) -> JSON:
    return {
        "id": address_id,
        "address1": address.get("address1"),
        "address2": address.get("address2") or "",
        "city": address.get("city"),
        "provinceCode": address.get("provinceCode"),
        "countryCodeV2": address.get("countryCode"),
        "zip": address.get("zip"),
        "firstName": address.get("firstName"),
        "lastName": address.get("lastName"),
    }


# Salesforce


class FakeSalesforce:
    client_id = "3MVG9fake.consumer.key"
    client_secret = "fake-consumer-secret"
    external_id_field = "Frontdesk_Key__c"
    user_id_field = "Frontdesk_User_Id__c"
    case_fields = frozenset(
        {"Subject", "Description", "Origin", "Status", "SuppliedEmail", user_id_field}
    )

    def __init__(self) -> None:
        self.url = ""
        self.app = FastAPI()
        self.app.post("/services/oauth2/token")(self._token)
        base = "/services/data/{version}/sobjects/Case"
        self.app.patch(base + "/{field}/{value}")(self._upsert)
        self.app.get(base + "/{case_id}")(self._get)
        self.reset()

    def reset(self) -> None:
        self.requests: list[JSON] = []
        self.token_requests: list[dict[str, list[str]]] = []
        self.faults: list[Fault] = []
        self.valid_tokens: set[str] = set()
        self.accept_tokens = True  # False: every token is refused with 401
        self.cases: dict[str, JSON] = {}

    def revoke_tokens(self) -> None:
        """As when a session expires: every issued token now answers 401."""
        self.valid_tokens.clear()

    async def _token(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        self.token_requests.append(form)
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if form.get("grant_type") != ["client_credentials"]:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if form.get("client_id") != [self.client_id] or form.get("client_secret") != [
            self.client_secret
        ]:
            body = {"error": "invalid_client", "error_description": "invalid client credentials"}
            return JSONResponse(body, status_code=400)
        token = f"00Dfake!AQ{len(self.token_requests):04d}"
        self.valid_tokens.add(token)
        return JSONResponse(
            {
                "access_token": token,
                "signature": "c2lnbmF0dXJl",
                "scope": "api",
                "instance_url": self.url,
                "id": "https://login.salesforce.com/id/00Dfake/005fake",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
            }
        )

    async def _upsert(self, request: Request, version: str, field: str, value: str) -> Response:
        denied = await self._record(request)
        if denied is not None:
            return denied
        if field != self.external_id_field:
            message = f"Provided external ID field does not exist or is not accessible: {field}"
            return JSONResponse([{"errorCode": "NOT_FOUND", "message": message}], 404)
        body = json.loads(await request.body())
        unknown = set(body) - self.case_fields
        if unknown:
            message = f"No such column '{sorted(unknown)[0]}' on sobject of type Case"
            return JSONResponse([{"message": message, "errorCode": "INVALID_FIELD"}], 400)
        if "forbidden" in (body.get("Description") or ""):
            error = {
                "message": "Descriptions may not contain that word",
                "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                "fields": ["Description"],
            }
            return JSONResponse([error], 400)
        existing = next((c for c in self.cases.values() if c[field] == value), None)
        if existing is not None:
            existing.update(body)
            reply = {"id": existing["Id"], "success": True, "errors": [], "created": False}
            return JSONResponse(reply, 200)
        number = len(self.cases) + 1
        case = {
            "Id": f"500fake{number:011d}",
            "CaseNumber": f"{1000 + number:08d}",
            "Status": "New",
            "IsClosed": False,
            "CreatedDate": "2026-05-09T10:00:00.000+0000",
            field: value,
            **body,
        }
        self.cases[case["Id"]] = case
        return JSONResponse({"id": case["Id"], "success": True, "errors": [], "created": True}, 201)

    async def _get(self, request: Request, version: str, case_id: str) -> Response:
        denied = await self._record(request)
        if denied is not None:
            return denied
        case = self.cases.get(case_id)
        if case is None:
            error = {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
            return JSONResponse([error], 404)
        wanted = request.query_params.get("fields", "").split(",")
        known = {"Id", "CaseNumber", "Status", "IsClosed", "CreatedDate"} | self.case_fields
        if set(wanted) - known:
            message = f"No such column '{sorted(set(wanted) - known)[0]}' on entity 'Case'"
            return JSONResponse([{"message": message, "errorCode": "INVALID_FIELD"}], 400)
        record = {"attributes": {"type": "Case", "url": request.url.path}}
        record |= {name: case.get(name) for name in wanted}
        return JSONResponse(record)

    async def _record(self, request: Request) -> Response | None:
        body = await request.body()
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "path_params": dict(request.path_params),
                "query": dict(request.query_params),
                "headers": dict(request.headers),
                "json": json.loads(body) if body else None,
            }
        )
        fault = _take_fault(self.faults, None)
        if fault is not None:
            return _reply(fault)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not self.accept_tokens or token not in self.valid_tokens:
            error = {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
            return JSONResponse([error], 401)
        return None
