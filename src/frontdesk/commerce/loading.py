"""Filling the embedded shop: the generated demo shop, or a shop in the τ-bench retail layout."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import delete, func, select

from frontdesk.commerce.demo_shop import Shop, generate_shop
from frontdesk.commerce.models import Customer, Order, Product
from frontdesk.store.repository import Store
from frontdesk.store.tables import ShopCustomerRow, ShopItemRow, ShopOrderRow, ShopProductRow


class ShopImportError(ValueError):
    pass


def read_tau_shop(path: Path) -> Shop:
    """A τ² `db.json` (products, users, orders) or a τ-bench folder of the three JSON files."""
    if path.is_dir():
        parts = {}
        for name in ("products", "users", "orders"):
            file = path / f"{name}.json"
            if not file.is_file():
                raise ShopImportError(f"{path}: no {name}.json (expected products, users, orders)")
            parts[name] = json.loads(file.read_text("utf-8"))
    elif path.is_file():
        parts = json.loads(path.read_text("utf-8"))
        if not isinstance(parts, dict) or not {"products", "users", "orders"} <= set(parts):
            raise ShopImportError(f"{path}: expected an object with products, users and orders")
    else:
        raise ShopImportError(f"{path}: no such file or folder")
    try:
        return Shop(
            customers=[
                Customer.model_validate({"user_id": user_id, **record})
                for user_id, record in parts["users"].items()
            ],
            products=[Product.model_validate(record) for record in parts["products"].values()],
            orders=[Order.model_validate(record) for record in parts["orders"].values()],
        )
    except (ValidationError, AttributeError) as exc:
        raise ShopImportError(f"{path}: not in the τ-bench retail layout ({exc})") from None


def replace_shop(store: Store, shop: Shop) -> None:
    """Empty the embedded shop and load `shop` in one transaction."""
    with store.session() as session:
        for table in (ShopItemRow, ShopOrderRow, ShopCustomerRow, ShopProductRow):
            session.execute(delete(table))
        session.add_all(
            ShopProductRow(product_id=p.product_id, name=p.name, data=p.model_dump(mode="json"))
            for p in shop.products
        )
        session.flush()
        session.add_all(
            ShopItemRow(item_id=item_id, product_id=p.product_id)
            for p in shop.products
            for item_id in p.variants
        )
        session.add_all(_customer_row(customer) for customer in shop.customers)
        session.add_all(
            ShopOrderRow(
                order_id=o.order_id,
                user_id=o.user_id,
                status=o.status,
                data=o.model_dump(mode="json"),
            )
            for o in shop.orders
        )


def ensure_demo_shop(store: Store) -> None:
    with store.session() as session:
        empty = session.scalar(select(func.count()).select_from(ShopProductRow)) == 0
    if empty:
        replace_shop(store, generate_shop())


def _customer_row(customer: Customer) -> ShopCustomerRow:
    return ShopCustomerRow(
        user_id=customer.user_id,
        email=customer.email.lower(),
        first_name=customer.name.first_name.lower(),
        last_name=customer.name.last_name.lower(),
        zip=customer.address.zip,
        data=customer.model_dump(mode="json"),
    )
