"""The Shopify and Salesforce adapters against local servers speaking their documented protocols.

Nothing of the adapters is replaced: they talk HTTP to tests/fake_servers.py on 127.0.0.1. Only
the clock is ours (`Clock.sleep` records waits instead of sleeping), so retries stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from fake_servers import FakeSalesforce, FakeShopify, Fault, serve, throttled_reply
from frontdesk.commerce.base import CommerceError
from frontdesk.commerce.http import BackendConfigError, BackendError, RetryPolicy
from frontdesk.commerce.models import Address
from frontdesk.commerce.salesforce import SalesforceCrm
from frontdesk.commerce.shopify import ShopifyCommerce
from server import free_port

KEY = "5f0c2d8e9a7b4c1d:cancel_pending_order:0a1b2c3d4e5f60718293a4b5"
NEW_YORK = Address(
    address1="350 Fifth Avenue", address2="Floor 3", city="New York", country="USA", state="NY",
    zip="10118",
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def policy(clock: Clock, attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, backoff=0.01, max_backoff=0.05, sleep=clock.sleep)


# Shopify


@pytest.fixture
def fake_shop(shopify_server: tuple[FakeShopify, str]) -> FakeShopify:
    fake, _ = shopify_server
    fake.reset()
    return fake


@pytest.fixture
def shop_url(shopify_server: tuple[FakeShopify, str]) -> str:
    return shopify_server[1]


def make_shop(url: str, clock: Clock, **options) -> ShopifyCommerce:
    settings = {
        "api_version": FakeShopify.version,
        "storefront_access_token": FakeShopify.storefront_token,
        "retry": policy(clock),
        "cancel_job_poll_interval": 0,
    } | options
    return ShopifyCommerce(url, FakeShopify.admin_token, **settings)


@pytest.fixture
def shop(fake_shop: FakeShopify, shop_url: str, clock: Clock) -> Iterator[ShopifyCommerce]:
    adapter = make_shop(shop_url, clock)
    yield adapter
    adapter.close()


def test_customer_lookups_search_and_then_match_exactly(
    shop: ShopifyCommerce, fake_shop: FakeShopify
) -> None:
    assert shop.find_customer_by_email(" ada.lovelace@EXAMPLE.com") == "101"
    assert shop.find_customer_by_email("nobody@example.com") is None
    assert shop.find_customer_by_name_zip("ada", "LOVELACE", "94105") == "102"
    assert shop.find_customer_by_name_zip("Ada", "Lovelace", "02110") == "101"
    assert shop.find_customer_by_name_zip("Ada", "Lovelace", "99999") is None
    assert fake_shop.calls("FindCustomers")[:3] == [
        {"query": 'email:"ada.lovelace@EXAMPLE.com"'},
        {"query": 'email:"nobody@example.com"'},
        {"query": 'first_name:"ada" last_name:"LOVELACE"'},
    ]
    first = fake_shop.requests[0]
    assert first["path"] == f"/admin/api/{FakeShopify.version}/graphql.json"
    assert first["headers"]["x-shopify-access-token"] == FakeShopify.admin_token
    assert first["headers"]["content-type"] == "application/json"


def test_customer_maps_to_the_frontdesk_record(shop: ShopifyCommerce) -> None:
    customer = shop.get_customer("101")
    assert customer is not None
    assert customer.user_id == "101"
    assert (customer.name.first_name, customer.name.last_name) == ("Ada", "Lovelace")
    assert customer.email == "Ada.Lovelace@example.com"
    assert customer.address.model_dump() == {
        "address1": "12 Harbour Street",
        "address2": "",
        "city": "Boston",
        "country": "US",
        "state": "MA",
        "zip": "02110",
    }
    assert customer.orders == ["#1001", "#1002"]
    card = customer.payment_methods["credit_card_4242"]
    assert (card.source, card.brand, card.last_four) == ("credit_card", "Visa", "4242")
    assert customer.payment_methods["paypal"].source == "paypal"
    assert shop.get_customer("999") is None
    assert shop.get_customer("not-a-number") is None


def test_orders_map_items_fulfilments_and_payments(shop: ShopifyCommerce) -> None:
    pending = shop.get_order("#1001")
    assert pending is not None and shop.get_order("1001") == pending
    assert (pending.order_id, pending.user_id, pending.status) == ("#1001", "101", "pending")
    assert [(i.item_id, i.product_id, i.price) for i in pending.items] == [
        ("301", "201", 48.0),
        ("311", "202", 18.0),
        ("311", "202", 18.0),
    ]
    assert pending.items[0].options == {"color": "white", "size": "M"}
    assert pending.items[0].name == "Linen Shirt"
    assert [p.model_dump() for p in pending.payment_history] == [
        {"transaction_type": "payment", "amount": 84.0, "payment_method_id": "credit_card_4242"}
    ]
    delivered = shop.get_order("#1002")
    assert delivered is not None and delivered.status == "delivered"
    assert delivered.fulfillments[0].tracking_id == ["1Z999AA10123456784"]
    assert delivered.fulfillments[0].item_ids == ["302", "312", "312"]
    assert delivered.total_paid == 92.0
    assert shop.get_order("#9999") is None


def test_products_and_variants(shop: ShopifyCommerce) -> None:
    shirt = shop.get_product("201")
    assert shirt is not None and shirt.name == "Linen Shirt"
    assert set(shirt.variants) == {"301", "302", "303"}
    sand = shirt.variants["303"]
    assert (sand.available, sand.price, sand.options) == (
        False,
        52.0,
        {"color": "sand", "size": "XL"},
    )
    mug = shop.product_of_item("312")
    assert mug is not None and mug.product_id == "202"
    assert shop.product_of_item("999") is None
    assert shop.get_product("999") is None


def test_cancel_refunds_to_the_original_payment_once_per_key(
    shop: ShopifyCommerce, fake_shop: FakeShopify, shop_url: str, clock: Clock
) -> None:
    order = shop.cancel_pending_order("#1001", "ordered by mistake", KEY)
    assert (order.status, order.cancel_reason) == ("cancelled", "ordered by mistake")
    assert [p.transaction_type for p in order.payment_history] == ["payment", "refund"]
    assert order.total_paid == 0.0
    assert fake_shop.calls("OrderCancel") == [
        {
            "orderId": "gid://shopify/Order/401",
            "reason": "CUSTOMER",
            "refundMethod": {"originalPaymentMethodsRefund": True},
            "restock": True,
            "notifyCustomer": True,
            "staffNote": f"frontdesk: ordered by mistake [ref {KEY}]",
        }
    ]
    assert fake_shop.calls("Job") == [{"id": "gid://shopify/Job/901"}]
    # The same key again, here and in another process (no memory shared): no second cancel.
    assert shop.cancel_pending_order("#1001", "ordered by mistake", KEY) == order
    with make_shop(shop_url, clock) as other_process:
        assert other_process.cancel_pending_order("#1001", "ordered by mistake", KEY) == order
    assert len(fake_shop.calls("OrderCancel")) == 1
    with pytest.raises(CommerceError, match="Non-pending order cannot be cancelled"):
        shop.cancel_pending_order("#1001", "ordered by mistake", "another key")


def test_cancel_refusals_checked_before_shopify_is_asked(
    shop: ShopifyCommerce, fake_shop: FakeShopify
) -> None:
    with pytest.raises(CommerceError, match="Invalid reason"):
        shop.cancel_pending_order("#1001", "changed my mind", "k1")
    with pytest.raises(CommerceError, match="Non-pending order cannot be cancelled"):
        shop.cancel_pending_order("#1002", "no longer needed", "k2")
    with pytest.raises(CommerceError, match="Order not found"):
        shop.cancel_pending_order("#4242", "no longer needed", "k3")
    assert fake_shop.calls("OrderCancel") == []


def test_user_errors_become_commerce_errors(shop: ShopifyCommerce, fake_shop: FakeShopify) -> None:
    fake_shop.refuse_cancel["gid://shopify/Order/403"] = "Order has a pending payment"
    with pytest.raises(CommerceError, match=r"^Order has a pending payment$"):
        shop.cancel_pending_order("#1003", "no longer needed", "k1")
    with pytest.raises(CommerceError, match=r"^Zip is invalid$"):
        shop.modify_pending_order_address(
            "#1001", NEW_YORK.model_copy(update={"zip": "00000"}), "k2"
        )
    assert fake_shop.order("#1003")["cancelledAt"] is None


def test_pending_order_address_change(shop: ShopifyCommerce, fake_shop: FakeShopify) -> None:
    order = shop.modify_pending_order_address("#1001", NEW_YORK, "k-address")
    assert order.address.model_dump() == {
        "address1": "350 Fifth Avenue",
        "address2": "Floor 3",
        "city": "New York",
        "country": "US",
        "state": "NY",
        "zip": "10118",
    }
    assert fake_shop.calls("OrderUpdate") == [
        {
            "input": {
                "id": "gid://shopify/Order/401",
                "shippingAddress": {
                    "address1": "350 Fifth Avenue",
                    "address2": "Floor 3",
                    "city": "New York",
                    "provinceCode": "NY",
                    "countryCode": "US",
                    "zip": "10118",
                    "firstName": "Ada",
                    "lastName": "Lovelace",
                },
            }
        }
    ]
    with pytest.raises(CommerceError, match="Non-pending order cannot be modified"):
        shop.modify_pending_order_address("#1002", NEW_YORK, "k-other")
    with pytest.raises(CommerceError, match="two-letter country code"):
        shop.modify_pending_order_address(
            "#1001", NEW_YORK.model_copy(update={"country": "Narnia"}), "k3"
        )


def test_return_requests_the_fulfilled_units_once_per_key(
    shop: ShopifyCommerce, fake_shop: FakeShopify, shop_url: str, clock: Clock
) -> None:
    with pytest.raises(CommerceError, match="original payment method"):
        shop.return_delivered_order_items("#1002", ["312"], "credit_card_4242", "k0")
    with pytest.raises(CommerceError, match="Some item not found"):
        shop.return_delivered_order_items("#1002", ["302", "302"], "paypal", "k0")
    with pytest.raises(CommerceError, match="Non-delivered order cannot be returned"):
        shop.return_delivered_order_items("#1001", ["301"], "credit_card_4242", "k0")
    assert fake_shop.calls("ReturnRequest") == []

    order = shop.return_delivered_order_items("#1002", ["312", "302", "312"], "paypal", KEY)
    assert order.status == "return requested"
    assert order.return_items == ["302", "312", "312"]
    assert order.return_payment_method_id == "paypal"
    note = f"Return requested through frontdesk [ref {KEY}]"
    assert fake_shop.calls("ReturnRequest") == [
        {
            "input": {
                "orderId": "gid://shopify/Order/402",
                "returnLineItems": [
                    {
                        "fulfillmentLineItemId": "gid://shopify/FulfillmentLineItem/702",
                        "quantity": 2,
                        "returnReason": "UNKNOWN",
                        "customerNote": note,
                    },
                    {
                        "fulfillmentLineItemId": "gid://shopify/FulfillmentLineItem/701",
                        "quantity": 1,
                        "returnReason": "UNKNOWN",
                        "customerNote": note,
                    },
                ],
            }
        }
    ]
    with make_shop(shop_url, clock) as other_process:
        again = other_process.return_delivered_order_items(
            "#1002", ["312", "302", "312"], "paypal", KEY
        )
    assert again == order
    assert len(fake_shop.calls("ReturnRequest")) == 1


def test_customer_address_updates_the_default_or_creates_one(
    shop: ShopifyCommerce, fake_shop: FakeShopify
) -> None:
    customer = shop.modify_user_address("101", NEW_YORK, "k-ada")
    assert customer.address.city == "New York" and customer.address.country == "US"
    [update] = fake_shop.calls("CustomerAddressUpdate")
    assert update["customerId"] == "gid://shopify/Customer/101"
    assert update["addressId"] == "gid://shopify/MailingAddress/501?model_name=CustomerAddress"
    assert update["setAsDefault"] is True
    assert update["address"]["countryCode"] == "US"

    grace = shop.modify_user_address("103", NEW_YORK, "k-grace")
    assert grace.address.zip == "10118"
    [create] = fake_shop.calls("CustomerAddressCreate")
    assert create["address"]["firstName"] == "Grace" and create["setAsDefault"] is True
    with pytest.raises(CommerceError, match="User not found"):
        shop.modify_user_address("999", NEW_YORK, "k-none")


def test_password_reset_goes_through_the_storefront_api(
    shop: ShopifyCommerce, fake_shop: FakeShopify, shop_url: str, clock: Clock
) -> None:
    reset = shop.start_password_reset("101", "k-reset")
    assert reset.sent_to == "Ada.Lovelace@example.com"
    expected = datetime.now(UTC) + timedelta(hours=24)
    assert abs((reset.expires_at - expected).total_seconds()) < 60
    assert shop.start_password_reset("101", "k-reset") == reset  # same key: no second email
    assert fake_shop.recovered == ["Ada.Lovelace@example.com"]
    request = next(r for r in fake_shop.requests if r["operation"] == "CustomerRecover")
    assert request["path"] == f"/api/{FakeShopify.version}/graphql.json"
    assert request["headers"]["shopify-storefront-private-token"] == FakeShopify.storefront_token

    with (
        make_shop(shop_url, clock, storefront_access_token=None) as admin_only,
        pytest.raises(CommerceError, match="not supported by the Shopify adapter"),
    ):
        admin_only.start_password_reset("101", "k-other")


def test_operations_shopify_cannot_do_say_so(shop: ShopifyCommerce) -> None:
    calls = [
        lambda: shop.modify_pending_order_items("#1001", ["301"], ["302"], "credit_card_4242", "k"),
        lambda: shop.modify_pending_order_payment("#1001", "paypal", "k"),
        lambda: shop.exchange_delivered_order_items("#1002", ["302"], ["301"], "paypal", "k"),
    ]
    for call in calls:
        with pytest.raises(CommerceError, match="not supported by the Shopify adapter"):
            call()


def test_429_waits_as_told_then_succeeds(
    shop: ShopifyCommerce, fake_shop: FakeShopify, clock: Clock
) -> None:
    fake_shop.faults.append(Fault(429, {"errors": "Exceeded rate limit"}, {"Retry-After": "2"}))
    assert shop.find_customer_by_email("grace@example.com") == "103"
    assert clock.waits == [2.0]
    assert len(fake_shop.calls("FindCustomers")) == 2
    # A wait longer than the policy allows is not waited for: the call fails at once.
    fake_shop.faults.append(Fault(429, {"errors": "Exceeded"}, {"Retry-After": "3600"}))
    with pytest.raises(BackendError, match="asked to wait 3600 s"):
        shop.find_customer_by_email("grace@example.com")
    assert clock.waits == [2.0]


def test_graphql_throttling_waits_for_the_bucket(
    shop: ShopifyCommerce, fake_shop: FakeShopify, clock: Clock
) -> None:
    fake_shop.faults.append(throttled_reply(requested=100, available=50, restore=50.0))
    assert shop.get_product("202") is not None
    assert clock.waits == [1.0]


def test_throttled_mutation_is_retried_and_applied_once(
    shop: ShopifyCommerce, fake_shop: FakeShopify, clock: Clock
) -> None:
    fake_shop.faults.append(
        Fault(429, {"errors": "Throttled"}, {"Retry-After": "1"}, "OrderCancel")
    )
    order = shop.cancel_pending_order("#1001", "no longer needed", KEY)
    assert order.status == "cancelled"
    assert len(fake_shop.calls("OrderCancel")) == 2
    assert clock.waits == [1.0]


def test_5xx_exhausted_is_a_run_time_error(
    shop: ShopifyCommerce, fake_shop: FakeShopify, clock: Clock
) -> None:
    fake_shop.faults += [Fault(503, "Service Unavailable") for _ in range(3)]
    with pytest.raises(BackendError) as failure:
        shop.get_order("#1001")
    assert not isinstance(failure.value, CommerceError)
    assert failure.value.status_code == 503
    assert len(fake_shop.calls("FindOrder")) == 3
    assert len(clock.waits) == 2


def test_5xx_on_a_mutation_is_not_retried(
    shop: ShopifyCommerce, fake_shop: FakeShopify, clock: Clock
) -> None:
    fake_shop.faults.append(Fault(502, "Bad Gateway", operation="OrderCancel"))
    with pytest.raises(BackendError, match="may have applied"):
        shop.cancel_pending_order("#1001", "no longer needed", KEY)
    assert len(fake_shop.calls("OrderCancel")) == 1
    assert clock.waits == []


def test_unreachable_shop_and_rejected_token(
    fake_shop: FakeShopify, shop_url: str, clock: Clock
) -> None:
    with (
        make_shop(f"http://127.0.0.1:{free_port()}", clock) as closed,
        pytest.raises(BackendError, match="cannot connect"),
    ):
        closed.get_customer("101")
    assert len(clock.waits) == 2
    with (
        ShopifyCommerce(shop_url, "shpat_wrong", api_version=FakeShopify.version) as wrong_token,
        pytest.raises(BackendError) as failure,
    ):
        wrong_token.get_customer("101")
    assert failure.value.status_code == 401
    assert len(clock.waits) == 2  # a rejected token is not retried


def test_configuration_mistakes_name_the_fix() -> None:
    with pytest.raises(BackendConfigError, match="access_token is empty"):
        ShopifyCommerce("https://example.myshopify.com", " ")
    with pytest.raises(BackendConfigError, match="api_version"):
        ShopifyCommerce("https://example.myshopify.com", "shpat_x", api_version="latest")
    with pytest.raises(BackendConfigError, match="must start with https://"):
        ShopifyCommerce("example.myshopify.com", "shpat_x")
    with pytest.raises(BackendConfigError, match="client_id and client_secret"):
        SalesforceCrm("https://example.my.salesforce.com", "id", "")
    with pytest.raises(BackendConfigError, match="field API name"):
        SalesforceCrm("https://example.my.salesforce.com", "id", "secret", user_id_field="a b")


# Salesforce


@pytest.fixture(scope="module")
def salesforce_server() -> Iterator[FakeSalesforce]:
    fake = FakeSalesforce()
    with serve(fake.app) as url:
        fake.url = url
        yield fake


@pytest.fixture
def fake_crm(salesforce_server: FakeSalesforce) -> FakeSalesforce:
    salesforce_server.reset()
    return salesforce_server


@pytest.fixture
def crm(fake_crm: FakeSalesforce, clock: Clock) -> Iterator[SalesforceCrm]:
    adapter = SalesforceCrm(
        fake_crm.url, FakeSalesforce.client_id, FakeSalesforce.client_secret, retry=policy(clock)
    )
    yield adapter
    adapter.close()


def test_open_case_upserts_by_key(crm: SalesforceCrm, fake_crm: FakeSalesforce) -> None:
    case = crm.open_case("101", "Torn jacket", "The jacket arrived torn.", KEY)
    assert case.case_id == "500fake00000000001"
    assert (case.user_id, case.status, case.subject) == ("101", "new", "Torn jacket")
    assert case.created_at == datetime(2026, 5, 9, 10, tzinfo=UTC)
    assert fake_crm.token_requests == [
        {
            "grant_type": ["client_credentials"],
            "client_id": [FakeSalesforce.client_id],
            "client_secret": [FakeSalesforce.client_secret],
        }
    ]
    upsert, read = fake_crm.requests
    assert upsert["method"] == "PATCH"
    assert upsert["path"] == f"/services/data/v62.0/sobjects/Case/Frontdesk_Key__c/{KEY}"
    assert upsert["headers"]["authorization"] == "Bearer 00Dfake!AQ0001"
    assert upsert["json"] == {
        "Subject": "Torn jacket",
        "Description": "The jacket arrived torn.",
        "Origin": "Web",
        "Frontdesk_User_Id__c": "101",
    }
    assert read["path"] == "/services/data/v62.0/sobjects/Case/500fake00000000001"
    assert "CreatedDate" in read["query"]["fields"].split(",")


def test_same_key_twice_is_one_case_and_one_token(
    crm: SalesforceCrm, fake_crm: FakeSalesforce
) -> None:
    first = crm.open_case(None, "Question", "Where is my parcel?", KEY)
    again = crm.open_case(None, "Question", "Where is my parcel?", KEY)
    assert again == first and first.user_id is None
    assert len(fake_crm.cases) == 1
    crm.open_case(None, "Question", "Where is my parcel?", "another-key")
    assert len(fake_crm.cases) == 2
    assert len(fake_crm.token_requests) == 1  # cached


def test_expired_token_is_refreshed_once(crm: SalesforceCrm, fake_crm: FakeSalesforce) -> None:
    crm.open_case("101", "First", "One", "k1")
    fake_crm.revoke_tokens()
    case = crm.open_case("101", "Second", "Two", "k2")
    assert case.subject == "Second"
    assert len(fake_crm.token_requests) == 2
    fake_crm.accept_tokens = False
    with pytest.raises(BackendError, match="freshly issued access token was rejected"):
        crm.open_case("101", "Third", "Three", "k3")
    assert len(fake_crm.token_requests) == 3  # one refresh, not a loop


def test_upsert_is_retried_after_5xx(
    crm: SalesforceCrm, fake_crm: FakeSalesforce, clock: Clock
) -> None:
    crm.open_case("101", "Warm-up", "Token first", "k0")
    fake_crm.faults.append(Fault(503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}]))
    case = crm.open_case("101", "Broken kettle", "It leaks.", KEY)
    assert case.subject == "Broken kettle"
    assert len(fake_crm.cases) == 2 and len(clock.waits) == 1


def test_salesforce_refusals(crm: SalesforceCrm, fake_crm: FakeSalesforce, clock: Clock) -> None:
    with pytest.raises(ValidationError):
        crm.open_case("101", "", "empty subject", "k1")
    assert fake_crm.requests == [] and fake_crm.token_requests == []
    with pytest.raises(CommerceError, match="may not contain that word"):
        crm.open_case("101", "Complaint", "a forbidden word", "k2")
    with (
        SalesforceCrm(fake_crm.url, FakeSalesforce.client_id, "wrong") as wrong,
        pytest.raises(BackendError, match="invalid client credentials"),
    ):
        wrong.open_case("101", "Hello", "World", "k3")
    with (
        SalesforceCrm(
            fake_crm.url,
            FakeSalesforce.client_id,
            FakeSalesforce.client_secret,
            external_id_field="Ticket_Key__c",
        ) as misnamed,
        pytest.raises(BackendError) as failure,
    ):
        misnamed.open_case("101", "Hello", "World", "k4")
    assert failure.value.status_code == 404
    assert clock.waits == []  # refusals are not retried
