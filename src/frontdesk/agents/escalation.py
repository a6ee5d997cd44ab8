"""Escalation agent: prepares a complex case for a person.

For the orders in question it computes what the shop's policy allows — which items can be
returned, exchanged or cancelled, for how much, to which payment methods, until when — names the
exceptions the customer asks for, and writes a case summary and a draft reply. The policy is the
one in the Harbor Goods help articles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from frontdesk.commerce.base import Change, Commerce
from frontdesk.commerce.eligibility import allows
from frontdesk.commerce.models import Customer, Order, OrderItem, Product
from frontdesk.contracts import CustomerProfile, EscalationCase, OrderSummary, PolicyOption
from frontdesk.vocabulary import order_ids

RETURN_DAYS = 30
DAMAGE_REPORT_DAYS = 14
WARRANTY_YEARS = {"electronics": 2}
DEFAULT_WARRANTY_YEARS = 1
AGENT = "escalation-agent/policy-1"

EXCEPTION_PATTERNS = [
    (re.compile(r"final[- ]sale", re.I), "return of a final-sale item"),
    (re.compile(r"\b(keep (it|them|the \w+)|without (sending|returning))\b", re.I),
     "refund without returning the items"),
    (re.compile(r"\brefund\b[^.?!]{0,40}?\bto (a |my )?(different|other|another|new) "
                r"(card|account)|different payment method", re.I),
     "refund to another payment method"),
    (re.compile(r"\b(compensation|goodwill|voucher|discount for the trouble)\b", re.I),
     "compensation beyond a refund"),
]  # fmt: skip
DAMAGE = re.compile(r"\b(damaged|broken|cracked|defective|faulty|arrived (broken|damaged))\b", re.I)


class Drafter(Protocol):
    """Writes the reply to a prepared case (a stronger LLM); falls back to the template."""

    def draft(self, text: str, case: EscalationCase) -> str: ...


@dataclass(frozen=True)
class EscalationRequest:
    text: str
    intent: str
    user_id: str | None
    order_ids: list[str]
    today: date


class EscalationAgent:
    def __init__(self, commerce: Commerce, drafter: Drafter | None = None) -> None:
        self.commerce = commerce
        self.drafter = drafter

    def prepare(self, request: EscalationRequest) -> EscalationCase:
        case = self._prepare(request)
        if self.drafter is None:
            return case
        return case.model_copy(update={"draft": self.drafter.draft(request.text, case)})

    def _prepare(self, request: EscalationRequest) -> EscalationCase:
        customer = self.commerce.get_customer(request.user_id) if request.user_id else None
        if customer is None:
            return EscalationCase(
                customer=None,
                orders=[],
                options=[],
                exceptions=_asked_exceptions(request.text),
                summary=f"Unauthenticated customer writes: {request.text!r} "
                f"(intent {request.intent}). Confirm their identity before discussing orders.",
                draft="Thanks for your message. To look into this, could you give me the email "
                "address on your account, or your full name and zip code?",
            )
        wanted = request.order_ids + order_ids(request.text)
        in_scope = [o for o in customer.orders if o in wanted] or customer.orders
        orders = [order for order in map(self.commerce.get_order, dict.fromkeys(in_scope)) if order]
        options = [option for order in orders for option in self._options(order, customer, request)]
        exceptions = _asked_exceptions(request.text) + _implied_exceptions(request, options)
        profile = CustomerProfile(
            user_id=customer.user_id,
            name=f"{customer.name.first_name} {customer.name.last_name}",
            email=customer.email,
            tier=customer.tier,
            orders=len(customer.orders),
        )
        summaries = [_summary(order) for order in orders]
        return EscalationCase(
            customer=profile,
            orders=summaries,
            options=options,
            exceptions=exceptions,
            summary=_case_summary(profile, request, summaries, options, exceptions),
            draft=_draft(customer, options, exceptions),
        )

    def _options(
        self, order: Order, customer: Customer, request: EscalationRequest
    ) -> list[PolicyOption]:
        original = order.payment_history[0].payment_method_id if order.payment_history else ""
        if allows(order.status, Change.CANCEL_PENDING_ORDER):
            return [
                PolicyOption(
                    action="cancel",
                    order_id=order.order_id,
                    item_ids=[item.item_id for item in order.items],
                    allowed=True,
                    amount=order.total_paid,
                    refund_to=[original],
                    reason="pending orders can be cancelled in full (no longer needed or "
                    "ordered by mistake)",
                ),
                PolicyOption(
                    action="modify",
                    order_id=order.order_id,
                    item_ids=[item.item_id for item in order.items],
                    allowed=True,
                    amount=0.0,
                    reason="address, payment and item variants can change while pending; "
                    "items only once",
                ),
            ]
        if order.status == "processed":
            return [
                PolicyOption(
                    action="cancel",
                    order_id=order.order_id,
                    item_ids=[item.item_id for item in order.items],
                    allowed=False,
                    amount=order.total_paid,
                    reason="shipped orders can no longer be cancelled; they can be returned "
                    "once delivered",
                )
            ]
        if not allows(order.status, Change.RETURN_DELIVERED_ORDER_ITEMS):
            return []
        return [
            option
            for item in order.items
            for option in self._item_options(order, item, customer, request, original)
        ]

    def _item_options(
        self,
        order: Order,
        item: OrderItem,
        customer: Customer,
        request: EscalationRequest,
        original: str,
    ) -> list[PolicyOption]:
        product = self.commerce.get_product(item.product_id)
        delivered = order.delivered_at
        deadline = delivered + timedelta(days=RETURN_DAYS) if delivered else None
        in_window = deadline is None or request.today <= deadline
        final_sale = bool(product and product.final_sale)
        gift_cards = [m.id for m in customer.payment_methods.values() if m.source == "gift_card"]
        if final_sale:
            reason = "final-sale items cannot be returned or exchanged"
        elif not in_window:
            reason = f"the {RETURN_DAYS}-day window closed on {deadline}"
        else:
            reason = f"within {RETURN_DAYS} days of delivery" + (
                "" if deadline else " (delivery date unknown: check it)"
            )
        allowed = in_window and not final_sale
        common = {"order_id": order.order_id, "item_ids": [item.item_id], "deadline": deadline}
        options = [
            PolicyOption(
                action="return",
                allowed=allowed,
                amount=item.price,
                refund_to=[original, *gift_cards] if allowed else [],
                reason=reason,
                **common,
            ),
            PolicyOption(
                action="exchange",
                allowed=allowed and _has_other_variant(product, item),
                amount=0.0,
                reason=reason
                if not allowed
                else "another available variant of the same product"
                if _has_other_variant(product, item)
                else "no other variant is available",
                **common,
            ),
        ]
        if DAMAGE.search(request.text) or request.intent == "damaged_item":
            options.append(_damage_option(order, item, product, request.today, original))
        return options


def _damage_option(
    order: Order, item: OrderItem, product: Product | None, today: date, original: str
) -> PolicyOption:
    delivered = order.delivered_at
    report_by = delivered + timedelta(days=DAMAGE_REPORT_DAYS) if delivered else None
    if report_by is None or today <= report_by:
        return PolicyOption(
            action="replace_or_refund",
            order_id=order.order_id,
            item_ids=[item.item_id],
            allowed=True,
            amount=item.price,
            refund_to=[original],
            deadline=report_by,
            reason=f"damage reported within {DAMAGE_REPORT_DAYS} days of delivery, with photos",
        )
    years = WARRANTY_YEARS.get(
        (product.category if product else None) or "", DEFAULT_WARRANTY_YEARS
    )
    covered_until = delivered.replace(year=delivered.year + years) if delivered else None
    return PolicyOption(
        action="warranty_claim",
        order_id=order.order_id,
        item_ids=[item.item_id],
        allowed=covered_until is None or today <= covered_until,
        amount=item.price,
        deadline=covered_until,
        reason=f"past the {DAMAGE_REPORT_DAYS}-day damage window; manufacturing defects are "
        f"covered by the {years}-year warranty (repair, replacement or refund)",
    )


def _has_other_variant(product: Product | None, item: OrderItem) -> bool:
    if product is None:
        return False
    return any(v.available and v.item_id != item.item_id for v in product.variants.values())


def _asked_exceptions(text: str) -> list[str]:
    return [name for pattern, name in EXCEPTION_PATTERNS if pattern.search(text)]


def _implied_exceptions(request: EscalationRequest, options: list[PolicyOption]) -> list[str]:
    """What the request needs that the computed options refuse."""
    wanted = {
        "cancel_order": "cancel",
        "return_item": "return",
        "exchange_item": "exchange",
        "refund_status": "return",
    }.get(request.intent)
    refused = [o for o in options if o.action == wanted and not o.allowed]
    if wanted is None or not refused or any(o.action == wanted and o.allowed for o in options):
        return []
    return sorted({f"{wanted} not allowed: {option.reason}" for option in refused})


def _summary(order: Order) -> OrderSummary:
    return OrderSummary(
        order_id=order.order_id,
        status=order.status,
        total=order.total_paid,
        items=[f"{item.name} ({item.item_id}, {item.price:.2f})" for item in order.items],
        placed_at=order.placed_at,
        delivered_at=order.delivered_at,
    )


def _case_summary(
    customer: CustomerProfile,
    request: EscalationRequest,
    orders: list[OrderSummary],
    options: list[PolicyOption],
    exceptions: list[str],
) -> str:
    allowed = [o for o in options if o.allowed]
    refunds = sum(o.amount for o in allowed if o.action == "return")
    lines = [
        f"{customer.name} ({customer.tier}, {customer.email}) writes: {request.text!r}",
        f"Intent: {request.intent}. Orders: "
        + "; ".join(f"{o.order_id} {o.status} {o.total:.2f}" for o in orders),
        f"Allowed: {len(allowed)} of {len(options)} options"
        + (f"; returns worth up to {refunds:.2f}" if refunds else ""),
    ]
    if exceptions:
        lines.append("Exception asked: " + "; ".join(exceptions))
    return "\n".join(lines)


def _draft(customer: Customer, options: list[PolicyOption], exceptions: list[str]) -> str:
    parts = [f"Hi {customer.name.first_name}, thank you for your patience."]
    returns = [o for o in options if o.action == "return" and o.allowed]
    if returns:
        total = sum(o.amount for o in returns)
        orders = sorted({o.order_id for o in returns})
        last = min((o.deadline for o in returns if o.deadline), default=None)
        by = f" until {last:%B %-d}" if last else ""
        parts.append(
            f"You can return the items of {', '.join(orders)}{by}: up to ${total:,.2f} goes back "
            "to your original payment method or a gift card within 5–7 business days after "
            "we receive them."
        )
    if any(o.action == "cancel" and o.allowed for o in options):
        parts.append("Orders that haven't shipped yet can still be cancelled for a full refund.")
    if exceptions:
        parts.append(
            "Part of your request is outside our standard policy, so a specialist is reviewing "
            "it and will get back to you."
        )
    return " ".join(parts)
