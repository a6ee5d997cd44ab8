"""What the real-time agent says: every sentence built from tool results, nothing invented."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from typing import Any

from frontdesk.commerce.models import Order, PaymentMethod, Product, Variant

VERBS = {
    "status": "look up",
    "cancel": "cancel",
    "return": "return",
    "exchange": "exchange",
    "order_address": "change the address of",
    "order_change": "change",
    "case": "report a problem with",
}
NEXT_STEP = {
    "processed": "It has shipped, so it can no longer be changed or cancelled.",
    "delivered": "It was delivered; items can be returned or exchanged within 30 days.",
    "cancelled": "It was cancelled.",
}
FRIENDLY_ERRORS = {
    "Insufficient gift card balance": "your gift card balance does not cover it",
    "Payment method should be the original payment method": (
        "a refund can only go to the original payment method or a gift card"
    ),
    "not found or available": "that variant is not available",
    "Non-pending order": "the order is no longer pending",
    "Non-delivered order": "the order has not been delivered",
}


def money(amount: float) -> str:
    return f"${amount:,.2f}"


def describe_method(method_id: str) -> str:
    source = method_id.rsplit("_", 1)[0].replace("_", " ")
    return {"credit card": "your credit card", "gift card": "your gift card"}.get(
        source, f"your {source.replace('paypal', 'PayPal')} account"
    )


def describe_items(order: Order, item_ids: list[str] | None = None) -> str:
    chosen = [i for i in order.items if item_ids is None or i.item_id in item_ids]
    return ", ".join(f"{i.name} ({_options(i.options)})" for i in chosen)


def _options(options: dict[str, str]) -> str:
    return ", ".join(f"{name} {value}" for name, value in options.items())


def how_can_i_help() -> str:
    return (
        "I can check an order, cancel or change a pending order, start a return or exchange, "
        "update your address or send a password-reset link. What would you like to do?"
    )


def ask_identity() -> str:
    return (
        "I can help with that. First I need to confirm who you are: please give me the email "
        "address on your account, or your full name and zip code."
    )


def no_account_for_email(email: str) -> str:
    return (
        f"I couldn't find an account with the email {email}. Could you check it, or give me "
        "your full name and zip code instead?"
    )


def no_account_for_name(first: str, last: str, zip_code: str) -> str:
    return (
        f"I couldn't find an account for {first} {last} with zip code {zip_code}. Could you check "
        "them, or give me the email address on your account?"
    )


def code_sent(sent_to: str) -> str:
    return (
        f"Thanks. To make sure it's you, I've emailed a 6-digit code to {sent_to}, the address "
        "on your account. Please type the code here."
    )


def ask_code(sent_to: str) -> str:
    return f"Please type the 6-digit code I emailed to {sent_to}, so I can confirm it's you."


def wrong_code(sent_to: str) -> str:
    return (
        f"That code doesn't match the one I emailed to {sent_to}. Please check the latest email "
        "and type its 6-digit code."
    )


def code_expired() -> str:
    return (
        "That code has expired. Give me the email address on your account again and I'll send "
        "a new one."
    )


def identity_for_a_person() -> str:
    return (
        "I couldn't confirm who you are from the details given, so a colleague will take over "
        "and help you from here."
    )


def ask_order(orders: list[Order], eligible: AbstractSet[str] | None) -> str:
    if not orders:
        return "I don't see any orders on your account. Which order number is it about?"
    listed = "; ".join(f"{o.order_id} ({o.status})" for o in orders)
    if eligible is not None and not any(o.status in eligible for o in orders):
        wanted = " or ".join(sorted(eligible))
        return f"None of your orders is {wanted}: {listed}. Which order do you mean?"
    return f"Which order is it about? Your orders: {listed}."


def unknown_order(order_id: str) -> str:
    return (
        f"I can't find order {order_id} on your account. Please check the number "
        "(it looks like #W1234567)."
    )


def not_eligible(order: Order, verb: str) -> str:
    reason = NEXT_STEP.get(order.status, f"Its status is {order.status}.")
    return f"I can't {verb} order {order.order_id}: it is {order.status}. {reason}"


def order_status(order: Order) -> str:
    lines = [f"Order {order.order_id} status: {order.status}. Items: {describe_items(order)}."]
    tracking = [t for f in order.fulfillments for t in f.tracking_id]
    if tracking:
        lines.append(f"Tracking number: {', '.join(tracking)}.")
    elif order.status == "pending":
        lines.append("It hasn't shipped yet; you'll get a tracking number by email when it does.")
    return " ".join(lines)


def ask_reason(order: Order) -> str:
    return (
        f"Order {order.order_id} is pending, so it can be cancelled. Why would you like to cancel "
        "it: is it no longer needed, or was it ordered by mistake?"
    )


def ask_items(order: Order, verb: str) -> str:
    listed = "; ".join(f"{i.name} ({_options(i.options)})" for i in order.items)
    return f"Which items of order {order.order_id} would you like to {verb}? It has: {listed}."


def confirm(summary: str) -> str:
    return f"{summary} Shall I go ahead? Please answer yes or no."


def cancel_summary(order: Order, reason: str, method_id: str) -> str:
    return (
        f"To confirm: cancel order {order.order_id} ({describe_items(order)}), reason "
        f"'{reason}'. {money(order.total_paid)} will be refunded to {describe_method(method_id)}."
    )


def return_summary(order: Order, item_ids: list[str], method_id: str) -> str:
    total = sum(i.price for i in order.items if i.item_id in item_ids)
    return (
        f"To confirm: return {describe_items(order, item_ids)} from order {order.order_id}. "
        f"{money(total)} will be refunded to {describe_method(method_id)} once the items arrive."
    )


def swap_summary(
    verb: str,
    order: Order,
    item_ids: list[str],
    new_ids: list[str],
    method_id: str,
    variants: dict[str, dict[str, Any]],
) -> str:
    old_total = sum(i.price for i in order.items if i.item_id in item_ids)
    new_total = sum(Variant.model_validate(variants[i]).price for i in new_ids)
    difference = round(new_total - old_total, 2)
    new_options = "; ".join(_options(Variant.model_validate(variants[i]).options) for i in new_ids)
    settle = (
        f"you pay the difference of {money(difference)}"
        if difference > 0
        else f"you get {money(-difference)} back"
    )
    once = " An order's items can be changed only once." if verb == "change" else ""
    return (
        f"To confirm: {verb} {describe_items(order, item_ids)} from order {order.order_id} for "
        f"{new_options}; {settle} on {describe_method(method_id)}.{once}"
    )


def pick_variant(product: Product, current: dict[str, str], text: str) -> Variant | str:
    """The available variant of `product` the customer asked for, or what to ask them."""
    wanted = {
        name: value
        for variant in product.variants.values()
        for name, value in variant.options.items()
        if re.search(rf"(?<![\w-]){re.escape(value.lower())}(?![\w-])", text)
    }
    wanted = {name: value for name, value in wanted.items() if current.get(name) != value}
    if not wanted:
        available = sorted(
            {_options(v.options) for v in product.variants.values() if v.available}
            - {_options(current)}
        )
        return f"Which {product.name} would you like instead? Available: {'; '.join(available)}."
    matches = [
        v
        for v in product.variants.values()
        if v.available and all(v.options.get(n) == value for n, value in wanted.items())
    ]
    if not matches:
        return f"Sorry, the {product.name} with {_options(wanted)} is not available."
    return max(matches, key=lambda v: sum(v.options.get(n) == x for n, x in current.items()))


def ask_address(whose: str) -> str:
    return (
        f"What is the new address for {whose}? Please write it as: street, (apartment,) city, "
        "state, zip code, for example 12 Oak Street, Apt 4, Portland, OR 97201."
    )


def address_summary(whose: str, address: dict[str, str]) -> str:
    parts = [address["address1"], address["address2"], address["city"]]
    line = ", ".join(p for p in parts if p)
    return f"To confirm: change {whose} to {line}, {address['state']} {address['zip']}."


def ask_payment(order: Order, options: list[PaymentMethod]) -> str:
    if not options:
        return f"Order {order.order_id} can only be paid with the method it was paid with."
    listed = ", ".join(describe_method(m.id) for m in options)
    return f"Which payment method should order {order.order_id} use instead? You have: {listed}."


def payment_summary(order: Order, method: PaymentMethod) -> str:
    return (
        f"To confirm: pay order {order.order_id} ({money(order.total_paid)}) with "
        f"{describe_method(method.id)}; the original payment will be refunded."
    )


def nothing_changed() -> str:
    return "All right, I haven't changed anything. Is there something else I can do for you?"


def change_failed(error: str) -> str:
    friendly = next((text for key, text in FRIENDLY_ERRORS.items() if key in error), error)
    return f"I couldn't do that: {friendly}. Nothing was changed."


def change_done(tool: str, output: dict[str, Any]) -> str:
    if tool == "cancel_pending_order":
        return (
            f"Done: order {output['order_id']} is cancelled. Refunds to a gift card are immediate; "
            "to a card or PayPal they take 5 to 7 business days."
        )
    if tool == "return_delivered_order_items":
        return (
            f"Done: the return for order {output['order_id']} is requested. You'll get an email "
            "with the prepaid return label and instructions."
        )
    if tool == "exchange_delivered_order_items":
        return (
            f"Done: the exchange for order {output['order_id']} is requested. You'll get an email "
            "explaining how to send the items back; no new order is needed."
        )
    if tool == "modify_pending_order_items":
        return f"Done: the items of order {output['order_id']} are changed."
    if tool == "modify_user_address":
        return "Done: your default address is updated."
    return f"Done: order {output.get('order_id', '')} is updated."


def reset_sent(email: str) -> str:
    name, _, domain = email.partition("@")
    masked = f"{name[:1]}{'*' * max(1, len(name) - 1)}@{domain}"
    return (
        f"I've emailed a password-reset link to {masked}; it works for 30 minutes. We will never "
        "ask you for your password."
    )


def case_opened(case_id: str, order: Order) -> str:
    return (
        f"I'm sorry about that. I've opened case {case_id[:8]} for order {order.order_id}; our "
        "team will contact you within one business day."
    )
