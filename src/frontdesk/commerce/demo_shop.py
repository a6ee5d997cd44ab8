"""The Harbor Goods demo shop, generated from a seed: the same seed always gives the same shop."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta

from frontdesk.commerce.models import (
    Address,
    Customer,
    Fulfilment,
    Name,
    Order,
    OrderItem,
    PaymentEntry,
    PaymentMethod,
    Product,
    Variant,
)

# The shop's "today": order dates are spread over the weeks before it.
DEMO_TODAY = date(2026, 11, 20)
FINAL_SALE = {"Wool Socks"}
ELECTRONICS = {"Desk Lamp", "Wireless Headphones", "Bluetooth Speaker", "Smart Kettle"}

# name, base price, option name → values
CATALOGUE: list[tuple[str, float, dict[str, list[str]]]] = [
    ("Linen Shirt", 48.0, {"color": ["white", "sand", "navy"], "size": ["S", "M", "L", "XL"]}),
    ("Rain Jacket", 129.0, {"color": ["olive", "black", "red"], "size": ["S", "M", "L", "XL"]}),
    ("Trail Boots", 159.0, {"color": ["brown", "grey"], "size": ["8", "9", "10", "11", "12"]}),
    ("Wool Socks", 14.0, {"color": ["grey", "green"], "size": ["M", "L"]}),
    ("Ceramic Mug", 18.0, {"color": ["blue", "white", "speckled"], "capacity": ["300ml", "450ml"]}),
    ("Chef's Knife", 89.0, {"blade": ["18cm", "21cm"], "handle": ["walnut", "black"]}),
    ("Cast Iron Pan", 64.0, {"diameter": ["20cm", "26cm", "30cm"]}),
    ("Desk Lamp", 72.0, {"color": ["black", "brass", "white"], "bulb": ["LED", "halogen"]}),
    (
        "Wireless Headphones",
        199.0,
        {"color": ["black", "silver"], "noise cancelling": ["yes", "no"]},
    ),
    ("Bluetooth Speaker", 89.0, {"color": ["blue", "black", "orange"], "battery": ["12h", "20h"]}),
    ("Smart Kettle", 119.0, {"capacity": ["1.2l", "1.7l"], "finish": ["steel", "matte black"]}),
    ("Camping Tent", 249.0, {"size": ["2-person", "4-person"], "season": ["3-season", "4-season"]}),
    ("Sleeping Bag", 139.0, {"rating": ["0C", "-10C"], "zip": ["left", "right"]}),
    ("Water Bottle", 29.0, {"capacity": ["500ml", "750ml", "1000ml"], "color": ["teal", "black"]}),
    ("Throw Blanket", 69.0, {"color": ["oat", "rust", "charcoal"], "material": ["wool", "cotton"]}),
    ("Backpack", 119.0, {"capacity": ["20l", "30l"], "color": ["black", "olive", "blue"]}),
]

FIRST_NAMES = [
    "Ada",
    "Omar",
    "Lena",
    "Mateo",
    "Priya",
    "Jonas",
    "Chloe",
    "Kenji",
    "Amara",
    "Felix",
    "Sofia",
    "Noah",
    "Yara",
    "Liam",
    "Ines",
    "Arjun",
    "Maya",
    "Tomas",
    "Zoe",
    "Ravi",
    "Elena",
    "Hugo",
    "Nadia",
    "Owen",
    "Leila",
    "Emil",
    "Grace",
    "Dario",
    "Hana",
    "Isaac",
    "Mila",
    "Theo",
]
LAST_NAMES = [
    "Garcia",
    "Novak",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Rossi",
    "Haddad",
    "Silva",
    "Kowalski",
    "Brennan",
    "Fischer",
    "Nguyen",
    "Costa",
    "Petrov",
    "Walsh",
    "Dubois",
    "Sato",
    "Mendes",
    "Larsen",
    "Quinn",
    "Abbott",
    "Varga",
    "Iyer",
    "Keller",
    "Ortiz",
]
STREETS = [
    "Harbor",
    "Oak",
    "Maple",
    "Cedar",
    "Lake",
    "Mill",
    "Hill",
    "Elm",
    "River",
    "Pine",
    "Park",
    "Bay",
    "Willow",
    "Spring",
]
CITIES = [
    ("Portland", "OR", "972"),
    ("Austin", "TX", "787"),
    ("Denver", "CO", "802"),
    ("Boston", "MA", "021"),
    ("Chicago", "IL", "606"),
    ("Seattle", "WA", "981"),
    ("Atlanta", "GA", "303"),
    ("Madison", "WI", "537"),
]
STATUSES = ["pending", "processed", "delivered", "delivered", "delivered", "cancelled"]
CARD_BRANDS = ["visa", "mastercard", "amex"]
CANCEL_REASONS = ["no longer needed", "ordered by mistake"]


@dataclass
class Shop:
    customers: list[Customer]
    products: list[Product]
    orders: list[Order]


def generate_shop(seed: int = 7, customers: int = 300, orders: int = 600) -> Shop:
    rng = random.Random(seed)
    products = [_product(rng, index, *entry) for index, entry in enumerate(CATALOGUE)]
    people = [_customer(rng, index) for index in range(customers)]
    order_ids = rng.sample(range(1_000_000, 10_000_000), orders)
    placed = [_order(rng, f"#W{number}", rng.choice(people), products) for number in order_ids]
    return Shop(people, products, placed)


def _product(
    rng: random.Random, index: int, name: str, price: float, options: dict[str, list[str]]
) -> Product:
    variants = {}
    for values in itertools.product(*options.values()):
        item_id = str(rng.randrange(10**9, 10**10))
        variants[item_id] = Variant(
            item_id=item_id,
            options=dict(zip(options, values, strict=True)),
            available=rng.random() > 0.15,
            price=round(price * rng.uniform(0.92, 1.08), 2),
        )
    return Product(
        name=name,
        product_id=str(4_000_000_000 + index * 7919),
        variants=variants,
        final_sale=name in FINAL_SALE,
        category="electronics" if name in ELECTRONICS else None,
    )


def _customer(rng: random.Random, index: int) -> Customer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city, state, zip_prefix = rng.choice(CITIES)
    user_id = f"{first.lower()}_{last.lower()}_{1000 + index}"
    methods = {}
    card = f"credit_card_{rng.randrange(10**6, 10**7)}"
    methods[card] = PaymentMethod(
        id=card,
        source="credit_card",
        brand=rng.choice(CARD_BRANDS),
        last_four=f"{rng.randrange(10000):04d}",
    )
    if rng.random() < 0.5:
        paypal = f"paypal_{rng.randrange(10**6, 10**7)}"
        methods[paypal] = PaymentMethod(id=paypal, source="paypal")
    if rng.random() < 0.4:
        gift = f"gift_card_{rng.randrange(10**6, 10**7)}"
        methods[gift] = PaymentMethod(
            id=gift, source="gift_card", balance=float(rng.randrange(200))
        )
    return Customer(
        user_id=user_id,
        name=Name(first_name=first, last_name=last),
        address=Address(
            address1=f"{rng.randrange(1, 999)} {rng.choice(STREETS)} Street",
            address2=rng.choice(["", f"Apt {rng.randrange(1, 40)}"]),
            city=city,
            country="USA",
            state=state,
            zip=f"{zip_prefix}{rng.randrange(10, 99)}",
        ),
        email=f"{first.lower()}.{last.lower()}{index}@example.com",
        payment_methods=methods,
        tier="vip" if rng.random() < 0.05 else "standard",
    )


def _order(rng: random.Random, order_id: str, customer: Customer, products: list[Product]) -> Order:
    items = []
    for product in rng.sample(products, rng.randint(1, 4)):
        variant = rng.choice(list(product.variants.values()))
        items.append(
            OrderItem(
                name=product.name,
                product_id=product.product_id,
                item_id=variant.item_id,
                price=variant.price,
                options=variant.options,
            )
        )
    status = rng.choice(STATUSES)
    method = rng.choice(list(customer.payment_methods))
    total = round(sum(item.price for item in items), 2)
    history = [PaymentEntry(transaction_type="payment", amount=total, payment_method_id=method)]
    if status == "cancelled":
        history.append(
            PaymentEntry(transaction_type="refund", amount=total, payment_method_id=method)
        )
    fulfilments = []
    if status in ("processed", "delivered"):
        fulfilments.append(
            Fulfilment(
                tracking_id=[str(rng.randrange(10**11, 10**12))],
                item_ids=[item.item_id for item in items],
            )
        )
    customer.orders.append(order_id)
    extra: dict[str, object] = {"placed_at": DEMO_TODAY - timedelta(days=rng.randint(0, 75))}
    if status == "cancelled":
        extra["cancel_reason"] = rng.choice(CANCEL_REASONS)
    if status == "delivered":
        placed = extra["placed_at"]
        assert isinstance(placed, date)
        extra["delivered_at"] = min(DEMO_TODAY, placed + timedelta(days=rng.randint(2, 9)))
    return Order(
        **extra,
        order_id=order_id,
        user_id=customer.user_id,
        address=customer.address,
        items=items,
        status=status,
        fulfillments=fulfilments,
        payment_history=history,
    )
