"""The shop on Shopify: the `Commerce` protocol over the Shopify Admin GraphQL API.

Identifiers: `user_id` is the number of the Customer GID ("gid://shopify/Customer/101" → "101"),
`order_id` the order name ("#1001"; "1001" means "#1001"), `product_id` and `item_id` the numbers
of the Product and ProductVariant GIDs. Shopify has no idempotency key for the mutations used here,
so a change writes its key into the record it creates (the cancellation's staff note, the return's
customer note) and a repeated key finds it there; docs/adapters.md says what each change does when
repeated and which operations Shopify cannot do the way the protocol asks.
"""

from frontdesk.commerce.shopify.adapter import API_VERSION, ShopifyCommerce

__all__ = ["API_VERSION", "ShopifyCommerce"]
