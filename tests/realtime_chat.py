"""A customer talking to the running pipeline, turn by turn, for the scripted conversations."""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.commerce.demo_shop import Shop, generate_shop
from frontdesk.commerce.embedded import EmbeddedShop
from frontdesk.commerce.models import Customer, Order
from frontdesk.runtime.services import Services
from frontdesk.runtime.worker import Worker

DEMO = generate_shop()  # the same seed as the shop every fresh store is filled with


@dataclass
class Said:
    text: str
    tier: str
    intent: str


class Chat:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.worker: Worker = services.worker("chat")
        self.conversation: str | None = None
        self.turns: list[Said] = []

    @property
    def shop(self) -> EmbeddedShop:
        return EmbeddedShop(self.services.store)

    def say(self, text: str, expect_auto: bool = True) -> str:
        """The reply sent, or the draft a person got instead (`expect_auto=False`)."""
        accepted = self.services.intake.accept(text, "web", self.conversation)
        self.conversation = accepted.message.conversation_id
        while self.worker.run_once():
            pass
        view = self.services.store.conversation(self.conversation)
        decision = next(d for d in view.decisions if d.message_id == accepted.message.id)
        reply = next((r for r in view.replies if r.in_reply_to == accepted.message.id), None)
        said = Said(
            text=reply.text if reply else decision.draft.text,
            tier=decision.decision.tier,
            intent=decision.intent.label,
        )
        self.turns.append(said)
        assert reply is not None or not expect_auto, f"{text!r} was handed to a person: {said}"
        return said.text


def orders_of(customer: Customer, shop: Shop = DEMO) -> list[Order]:
    return [order for order in shop.orders if order.user_id == customer.user_id]


def find(
    status: str, *, items: int = 1, gift_card: bool = False, max_total: float = 250.0
) -> tuple[Customer, Order]:
    """The first demo customer with an order in `status` of at least `items` items, worth at
    most `max_total` (larger sums go to a specialist by rule)."""
    for customer in DEMO.customers:
        if customer.tier != "standard":
            continue  # key accounts go to a person by rule; see test_routing_in_the_pipeline
        if gift_card and not any(
            m.source == "gift_card" for m in customer.payment_methods.values()
        ):
            continue
        for order in orders_of(customer):
            if (
                order.status == status
                and len(order.items) >= items
                and sum(item.price for item in order.items) <= max_total
            ):
                return customer, order
    raise LookupError(f"no {status} order with {items}+ items in the demo shop")
