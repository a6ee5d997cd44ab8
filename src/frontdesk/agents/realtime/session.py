"""One turn of the rule-based real-time agent: the tool calls it makes and the reply it writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from frontdesk.agents.realtime import replies
from frontdesk.agents.realtime.dialogue import DialogueState, Goal
from frontdesk.agents.realtime.entities import Entities
from frontdesk.commerce.base import Change
from frontdesk.commerce.eligibility import ELIGIBLE as ORDER_STATUSES
from frontdesk.commerce.models import Customer, Order, OrderStatus, Product
from frontdesk.contracts import CustomerProfile, InboundMessage, ToolCall, ToolResult
from frontdesk.tools.toolbox import Toolbox, Turn

# The statuses a request's order must be in (None: any), as the shop will check them.
ELIGIBLE: dict[str, frozenset[OrderStatus] | None] = {
    "status": None,
    "cancel": ORDER_STATUSES[Change.CANCEL_PENDING_ORDER],
    "return": ORDER_STATUSES[Change.RETURN_DELIVERED_ORDER_ITEMS],
    "exchange": ORDER_STATUSES[Change.EXCHANGE_DELIVERED_ORDER_ITEMS],
    "order_address": ORDER_STATUSES[Change.MODIFY_PENDING_ORDER_ADDRESS],
    # Item and payment changes share this request: its order is checked as for items, the stricter.
    "order_change": ORDER_STATUSES[Change.MODIFY_PENDING_ORDER_ITEMS],
    "case": None,
}


REMEMBERED = ("reason", "payment_source", "address")


class DialogueSession:
    """One turn of the dialogue: the tool calls it makes and the reply it writes."""

    def __init__(
        self,
        toolbox: Toolbox,
        dialogue: DialogueState,
        message: InboundMessage,
        entities: Entities,
    ) -> None:
        self.toolbox = toolbox
        self.dialogue = dialogue
        self.entities = entities
        self.message = message
        self.turn = Turn(
            state=dialogue.tools,
            message_id=message.id,
            confirmed=entities.yes,
            conversation_id=message.conversation_id,
        )
        self.calls: list[ToolCall] = []
        self.results: list[ToolResult] = []
        self.amount_at_stake: float | None = None
        self._known: Customer | None = None

    def call(self, name: str, **arguments: Any) -> ToolResult:
        call, result = self.toolbox.call(self.turn, name, arguments)
        self.calls.append(call)
        self.results.append(result)
        return result

    def slot(self, name: str) -> Any:
        return self.dialogue.slots.get(name)

    def run(self, goal: Goal | None) -> str:
        dialogue, entities = self.dialogue, self.entities
        pending = dialogue.tools.pending
        if pending is not None and (entities.yes or entities.no):
            return self._answer_confirmation()
        if goal is not None and goal != dialogue.goal:
            dialogue.goal, dialogue.order_id, dialogue.item_ids = goal, None, []
            dialogue.slots, dialogue.proposal, dialogue.tools.pending = {}, None, None
        elif pending is not None and dialogue.proposal and not self._new_details():
            return replies.confirm(dialogue.proposal)
        dialogue.slots.update(
            {name: getattr(entities, name) for name in REMEMBERED if getattr(entities, name)}
        )
        if entities.order_id:
            dialogue.order_id = entities.order_id
        if dialogue.goal is None:
            return replies.how_can_i_help()
        if dialogue.tools.user_id is None:
            identified = self._identify()
            if identified is not None:
                return identified
        return self._pursue(dialogue.goal)

    def _pursue(self, goal: Goal) -> str:
        """The next step of the customer's request."""
        steps: dict[Goal, Callable[[], str]] = {
            "status": self._goal_status,
            "cancel": self._goal_cancel,
            "return": self._goal_return,
            "exchange": self._goal_exchange,
            "order_change": self._goal_order_change,
            "order_address": self._goal_order_address,
            "profile_address": self._goal_profile_address,
            "password_reset": self._goal_password_reset,
            "case": self._goal_case,
        }
        return steps[goal]()

    def _new_details(self) -> bool:
        entities = self.entities
        return bool(entities.order_id or any(getattr(entities, name) for name in REMEMBERED))

    # identity

    def _identify(self) -> str | None:
        """None once the customer is identified; else what to ask them."""
        entities, tools = self.entities, self.dialogue.tools
        if tools.identification_closed:
            return replies.identity_for_a_person()
        if tools.verifying is not None and entities.code:
            result = self.call("verify_email_code", code=entities.code)
            if result.ok:
                return None
            if self.dialogue.tools.identification_closed:
                return replies.identity_for_a_person()
            if tools.verifying is None:  # expired
                return replies.code_expired()
            return replies.wrong_code(tools.verifying.sent_to)
        if entities.email:
            result = self.call("find_user_id_by_email", email=entities.email)
            if not result.ok:
                return replies.no_account_for_email(entities.email)
        elif entities.name and entities.zip:
            first, last = entities.name
            result = self.call(
                "find_user_id_by_name_zip", first_name=first, last_name=last, zip=entities.zip
            )
            if not result.ok:
                return replies.no_account_for_name(first, last, entities.zip)
        elif tools.verifying is not None:
            return replies.ask_code(tools.verifying.sent_to)
        else:
            return replies.ask_identity()
        if "code_sent_to" in result.output:
            return replies.code_sent(result.output["code_sent_to"])
        return None

    # confirmation

    def _answer_confirmation(self) -> str:
        pending = self.dialogue.tools.pending
        assert pending is not None
        self.dialogue.goal, self.dialogue.proposal = None, None
        if self.entities.no:
            self.dialogue.tools.pending = None
            return replies.nothing_changed()
        result = self.call(pending.name, **pending.arguments)
        if not result.ok:
            return replies.change_failed(result.error or "")
        return replies.change_done(pending.name, result.output)

    def _propose(self, name: str, summary: str, amount: float, **arguments: Any) -> str:
        self.amount_at_stake = round(abs(amount), 2)
        result = self.call(name, **arguments)
        if result.output.get("confirmation_required"):
            self.dialogue.proposal = summary
            return replies.confirm(summary)
        return replies.change_failed(result.error or "")

    # shared steps

    def _customer(self) -> Customer:
        if self._known is None:
            result = self.call("get_user_details", user_id=self.dialogue.tools.user_id)
            self._known = Customer.model_validate(result.output)
        return self._known

    def profile(self) -> CustomerProfile | None:
        """Who the conversation is with, for routing and for the person who may take over."""
        if self.dialogue.tools.user_id is None:
            return None
        customer = self._customer()
        return CustomerProfile(
            user_id=customer.user_id,
            name=f"{customer.name.first_name} {customer.name.last_name}",
            email=customer.email,
            tier=customer.tier,
            orders=len(customer.orders),
        )

    def _order(self) -> Order | str:
        """The order the request is about, or the question to ask the customer."""
        dialogue = self.dialogue
        eligible = ELIGIBLE.get(dialogue.goal or "")
        if dialogue.order_id is None:
            orders = [self._fetch(order_id) for order_id in self._customer().orders]
            candidates = [o for o in orders if o and (eligible is None or o.status in eligible)]
            if len(candidates) == 1 and eligible is not None:
                dialogue.order_id = candidates[0].order_id
                return candidates[0]
            return replies.ask_order([o for o in orders if o], eligible)
        order = self._fetch(dialogue.order_id)
        if order is None:
            missing = dialogue.order_id
            dialogue.order_id = None
            return replies.unknown_order(missing)
        if eligible is not None and order.status not in eligible:
            verb = self._verb()
            dialogue.goal = None
            return replies.not_eligible(order, verb)
        return order

    def _fetch(self, order_id: str) -> Order | None:
        result = self.call("get_order_details", order_id=order_id)
        return Order.model_validate(result.output) if result.ok else None

    def _verb(self) -> str:
        return replies.VERBS[self.dialogue.goal or "status"]

    def _items(self, order: Order) -> list[str] | None:
        if self.entities.all_items:
            return [item.item_id for item in order.items]
        text = self.message.text.lower()
        named = [item.item_id for item in order.items if _mentions(text, item.name)]
        if named:
            return named
        if len(order.items) == 1:
            return [order.items[0].item_id]
        return self.dialogue.item_ids or None

    def _refund_method(self, order: Order, customer: Customer) -> str:
        original = order.payment_history[0].payment_method_id
        if self.slot("payment_source") == "gift_card":
            gift = next(
                (m.id for m in customer.payment_methods.values() if m.source == "gift_card"), None
            )
            return gift or original
        return original

    # goals

    def _goal_status(self) -> str:
        order = self._order()
        if isinstance(order, str):
            return order
        self.dialogue.goal = None
        return replies.order_status(order)

    def _goal_cancel(self) -> str:
        order = self._order()
        if isinstance(order, str):
            return order
        reason = self.slot("reason")
        if reason is None:
            return replies.ask_reason(order)
        method = order.payment_history[0].payment_method_id if order.payment_history else ""
        return self._propose(
            "cancel_pending_order",
            replies.cancel_summary(order, reason, method),
            order.total_paid,
            order_id=order.order_id,
            reason=reason,
        )

    def _goal_return(self) -> str:
        order = self._order()
        if isinstance(order, str):
            return order
        items = self._items(order)
        if not items:
            return replies.ask_items(order, "return")
        self.dialogue.item_ids = items
        method = self._refund_method(order, self._customer())
        return self._propose(
            "return_delivered_order_items",
            replies.return_summary(order, items, method),
            sum(item.price for item in order.items if item.item_id in items),
            order_id=order.order_id,
            item_ids=items,
            payment_method_id=method,
        )

    def _goal_exchange(self) -> str:
        return self._swap_items("exchange_delivered_order_items", "exchange")

    def _goal_order_change(self) -> str:
        if self.slot("payment_source"):
            return self._change_payment()
        return self._swap_items("modify_pending_order_items", "change")

    def _swap_items(self, tool: str, verb: str) -> str:
        """Swap items for other variants of the same products; the original method settles."""
        order = self._order()
        if isinstance(order, str):
            return order
        items = self._items(order)
        if not items:
            return replies.ask_items(order, verb)
        self.dialogue.item_ids = items
        text = self.message.text.lower()
        new_ids, problems = [], []
        for item in (i for i in order.items if i.item_id in items):
            product = Product.model_validate(
                self.call("get_product_details", product_id=item.product_id).output
            )
            choice = replies.pick_variant(product, item.options, text)
            if isinstance(choice, str):
                problems.append(choice)
            else:
                new_ids.append(choice.item_id)
        if problems:
            return " ".join(problems)
        method = order.payment_history[0].payment_method_id
        variants = self._product_variants(new_ids)
        old_total = sum(item.price for item in order.items if item.item_id in items)
        return self._propose(
            tool,
            replies.swap_summary(verb, order, items, new_ids, method, variants),
            sum(variants[i]["price"] for i in new_ids) - old_total,
            order_id=order.order_id,
            item_ids=items,
            new_item_ids=new_ids,
            payment_method_id=method,
        )

    def _product_variants(self, new_ids: list[str]) -> dict[str, dict[str, Any]]:
        variants: dict[str, dict[str, Any]] = {}
        for item_id in new_ids:
            result = self.call("get_item_details", item_id=item_id)
            variants[item_id] = result.output
        return variants

    def _goal_order_address(self) -> str:
        order = self._order()
        if isinstance(order, str):
            return order
        address = self.slot("address")
        if address is None:
            return replies.ask_address(f"order {order.order_id}")
        return self._propose(
            "modify_pending_order_address",
            replies.address_summary(f"order {order.order_id}", address),
            0.0,
            order_id=order.order_id,
            **address,
        )

    def _goal_profile_address(self) -> str:
        address = self.slot("address")
        if address is None:
            return replies.ask_address("your account")
        return self._propose(
            "modify_user_address",
            replies.address_summary("your account's default address", address),
            0.0,
            user_id=self.dialogue.tools.user_id,
            **address,
        )

    def _change_payment(self) -> str:
        order = self._order()
        if isinstance(order, str):
            return order
        source = self.slot("payment_source")
        customer = self._customer()
        current = order.payment_history[0].payment_method_id
        options = [m for m in customer.payment_methods.values() if m.id != current]
        chosen = next((m for m in options if m.source == source), None)
        if chosen is None:
            return replies.ask_payment(order, options)
        return self._propose(
            "modify_pending_order_payment",
            replies.payment_summary(order, chosen),
            order.total_paid,
            order_id=order.order_id,
            payment_method_id=chosen.id,
        )

    def _goal_password_reset(self) -> str:
        result = self.call("start_password_reset", user_id=self.dialogue.tools.user_id)
        self.dialogue.goal = None
        if not result.ok:
            return replies.change_failed(result.error or "")
        return replies.reset_sent(result.output["sent_to"])

    def _goal_case(self) -> str:
        order = self._order()
        if isinstance(order, str):
            return order
        result = self.call(
            "open_support_case",
            subject=f"Problem with order {order.order_id}",
            description=self.message.text,
        )
        self.dialogue.goal = None
        if not result.ok:
            return replies.change_failed(result.error or "")
        return replies.case_opened(result.output["case_id"], order)


def _mentions(text: str, item_name: str) -> bool:
    words = [word for word in item_name.lower().split() if len(word) > 2]
    return any(word in text for word in words)
