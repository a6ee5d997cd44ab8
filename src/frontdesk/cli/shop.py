"""`frontdesk shop`: the embedded shop the real-time agent's tools work on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from frontdesk.cli.common import console, fail, settings_or_exit

app = typer.Typer(help="The embedded shop the real-time agent's tools work on.")


@app.command("import")
def import_shop(
    path: Annotated[
        Path, typer.Argument(help="a τ-bench retail db.json, or a folder of users/orders/products")
    ],
) -> None:
    """Replace the embedded shop with one in the τ-bench retail layout."""
    from frontdesk.commerce.loading import ShopImportError, read_tau_shop, replace_shop
    from frontdesk.runtime.services import open_store

    settings = settings_or_exit()
    try:
        shop = read_tau_shop(path)
    except ShopImportError as exc:
        raise fail(str(exc), code=2) from None
    replace_shop(open_store(settings), shop)
    console.print(
        f"imported {len(shop.customers)} customers, {len(shop.orders)} orders and "
        f"{len(shop.products)} products"
    )


@app.command("demo")
def demo_shop(
    seed: Annotated[int, typer.Option(help="the same seed gives the same shop")] = 7,
) -> None:
    """Replace the embedded shop with the generated Harbor Goods demo shop."""
    from frontdesk.commerce.demo_shop import generate_shop
    from frontdesk.commerce.loading import replace_shop
    from frontdesk.runtime.services import open_store

    settings = settings_or_exit()
    shop = generate_shop(seed)
    replace_shop(open_store(settings), shop)
    console.print(f"generated {len(shop.customers)} customers and {len(shop.orders)} orders")
