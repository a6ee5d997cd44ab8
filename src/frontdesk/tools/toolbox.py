"""The tools the real-time agent (rule-based or LLM) may call, and the rules every call obeys.

- No account data before the customer is authenticated (email, or full name plus zip code), and
  only the authenticated customer's records: another customer's order reads as "not found".
- No change without an explicit "yes": the first call of a changing tool only records it as
  pending and answers `confirmation_required`; the same call runs once the customer's next message
  is an explicit yes (decided by our own code, never by a model).
- Every change carries an idempotency key derived from the message and the call, so a redelivered
  message never acts twice.
- Only the changes the shop's backend can make are offered (`Toolbox.tools`); asking for another
  is refused at once, saying that a person must take over.
- With `[realtime] verify = "email_code"` finding the account is not enough: a one-time code
  goes to the email address on the account (tools/verification.py), and the conversation is the
  customer's once `verify_email_code` gets it back. A wrong code counts as a failed lookup.
- A conversation gets `identification_attempts` lookups by email or by name and zip code that
  find no one; then its identification is closed: the tools identify no one in it any more and a
  person takes over, so guessing a customer's details one message at a time stops there.
"""

from __future__ import annotations

import ast
import hashlib
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from frontdesk.clock import utcnow
from frontdesk.commerce.base import CHANGE_NAMES, Change, Commerce, CommerceError, Crm, unsupported
from frontdesk.commerce.models import Address
from frontdesk.contracts import GuardrailVerdict, ToolCall, ToolResult
from frontdesk.tools import arguments as a
from frontdesk.tools.verification import CodeSent, EmailCodes

VERIFY_CODE = "verify_email_code"
ALLOWED_IN_CALCULATION = set("0123456789+-*/(). ")
IDENTIFICATION_ATTEMPTS = 5
# What the pipeline hands the coordinator for a conversation whose identification is closed.
IDENTIFICATION_CLOSED = GuardrailVerdict(
    guardrail="identification",
    stage="input",
    tripped=True,
    reason="too many failed identifications in this conversation: a person must confirm who "
    "the customer is",
)
ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class PendingChange(BaseModel):
    name: str
    arguments: dict[str, Any]


class ToolState(BaseModel):
    """What the tools remember of a conversation between turns."""

    user_id: str | None = None
    pending: PendingChange | None = None
    failed_identifications: int = 0  # lookups by email or by name and zip that found no one
    identification_closed: bool = False  # too many of them: only a person identifies now
    verifying: CodeSent | None = None  # an account found, its emailed code awaited
    account_email: str | None = None  # the identified account's address: email replies go there


@dataclass
class Turn:
    """One customer message's worth of tool use."""

    state: ToolState
    message_id: str
    confirmed: bool  # the customer's message is an explicit yes to `state.pending`
    conversation_id: str = ""
    calls: int = 0


@dataclass(frozen=True)
class Tool:
    name: str
    arguments: type[a.Arguments]
    description: str
    run: Callable[[Toolbox, Any, str, Turn], Any]
    changes_state: bool = False
    needs_customer: bool = True
    authenticates: bool = False  # finds the customer's user id: the conversation is theirs after
    capability: Change | None = None  # the backend's change it makes; offered only when supported


class ToolRefused(Exception):
    pass


class Toolbox:
    def __init__(
        self,
        commerce: Commerce,
        crm: Crm,
        identification_attempts: int = IDENTIFICATION_ATTEMPTS,
        codes: EmailCodes | None = None,
    ) -> None:
        """With `codes`, an account found is the conversation's only after its emailed code."""
        self.commerce = commerce
        self.crm = crm
        self.identification_attempts = identification_attempts
        self.codes = codes
        self.tools: dict[str, Tool] = {
            name: tool
            for name, tool in TOOLS.items()
            if (tool.capability is None or tool.capability in commerce.capabilities)
            and (name != VERIFY_CODE or codes is not None)
        }

    def call(self, turn: Turn, name: str, arguments: dict[str, Any]) -> tuple[ToolCall, ToolResult]:
        turn.calls += 1
        key = idempotency_key(turn.message_id, name, arguments)
        call = ToolCall(
            id=f"{turn.message_id}:{turn.calls}",
            name=name,
            arguments=arguments,
            idempotency_key=key,
        )
        return call, self._run(turn, call)

    def _run(self, turn: Turn, call: ToolCall) -> ToolResult:
        tool = TOOLS.get(call.name)
        if tool is None:
            return ToolResult(call_id=call.id, ok=False, error=f"unknown tool {call.name}")
        if tool.capability is not None and call.name not in self.tools:
            # Refused before any confirmation: the customer is not asked to agree to the impossible.
            error = unsupported(CHANGE_NAMES[tool.capability], "this shop")
            return ToolResult(call_id=call.id, ok=False, error=error)
        try:
            parsed = tool.arguments.model_validate(call.arguments)
            self._authorise(turn, tool, parsed)
            if tool.changes_state and not self._confirmed(turn, call.name, parsed):
                turn.state.pending = PendingChange(name=call.name, arguments=parsed.model_dump())
                return ToolResult(
                    call_id=call.id,
                    ok=False,
                    output={"confirmation_required": True},
                    error="ask the customer to confirm this change with an explicit yes",
                )
            output = tool.run(self, parsed, call.idempotency_key, turn)
            if tool.authenticates and turn.state.user_id not in (None, output):
                raise ToolRefused("this conversation already belongs to another customer")
        except ValidationError as exc:
            return ToolResult(call_id=call.id, ok=False, error=f"invalid arguments: {exc}")
        except CommerceError as exc:
            if tool.authenticates:
                self._failed_identification(turn.state)
            return ToolResult(call_id=call.id, ok=False, error=str(exc))
        except ToolRefused as exc:
            return ToolResult(call_id=call.id, ok=False, error=str(exc))
        if tool.changes_state:
            turn.state.pending = None
        awaits_code = self.codes is not None and call.name != VERIFY_CODE
        if tool.authenticates and awaits_code and turn.state.user_id is None:
            return self._send_code(turn, call, output)
        if tool.authenticates:
            turn.state.user_id, turn.state.verifying = output, None
            turn.state.account_email = self._account_email(output)
        return ToolResult(call_id=call.id, ok=True, output=_as_output(output))

    def _account_email(self, user_id: str) -> str | None:
        try:
            account = self.commerce.get_customer(user_id)
        except CommerceError:  # the shop is down: the reply's address stays the writer's
            return None
        return account.email if account is not None else None

    def _send_code(self, turn: Turn, call: ToolCall, user_id: str) -> ToolResult:
        """The account is found; the conversation becomes its customer's with the code."""
        assert self.codes is not None
        account = _found(self.commerce.get_customer(user_id), "User not found")
        sent = self.codes.send(turn.conversation_id, turn.message_id, user_id, account.email)
        turn.state.verifying = sent
        return ToolResult(
            call_id=call.id,
            ok=True,
            output={
                "code_sent_to": sent.sent_to,
                "next": "ask the customer for the code in that email, then call "
                f"{VERIFY_CODE} with it",
            },
        )

    def _authorise(self, turn: Turn, tool: Tool, parsed: a.Arguments) -> None:
        user_id = turn.state.user_id
        if tool.authenticates and turn.state.identification_closed:
            raise ToolRefused(IDENTIFICATION_CLOSED.reason)
        if tool.authenticates or not tool.needs_customer:
            return
        if user_id is None:
            raise ToolRefused(
                "the customer is not authenticated: ask for their email, or full name and zip code"
            )
        if isinstance(parsed, a.UserId) and parsed.user_id != user_id:
            raise CommerceError("User not found")
        if isinstance(parsed, a.OrderId):
            order = self.commerce.get_order(parsed.order_id)
            if order is None or order.user_id != user_id:
                raise CommerceError("Order not found")

    def _failed_identification(self, state: ToolState) -> None:
        state.failed_identifications += 1
        if state.user_id is None and state.failed_identifications >= self.identification_attempts:
            state.identification_closed = True

    def _confirmed(self, turn: Turn, name: str, parsed: a.Arguments) -> bool:
        pending = turn.state.pending
        return (
            turn.confirmed
            and pending is not None
            and pending.name == name
            and pending.arguments == parsed.model_dump()
        )


def idempotency_key(message_id: str, name: str, arguments: dict[str, Any]) -> str:
    """Same message, same tool, same arguments: same key, so a redelivery acts once."""
    canonical = json.dumps(arguments, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return f"{message_id}:{name}:{digest}"


def _as_output(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return {"result": value}


def _found(value: Any, missing: str) -> Any:
    if value is None:
        raise CommerceError(missing)
    return value


def _find_by_email(box: Toolbox, args: a.ByEmail, _key: str, _turn: Turn) -> str:
    return _found(box.commerce.find_customer_by_email(args.email), "User not found")


def _find_by_name_zip(box: Toolbox, args: a.ByNameZip, _key: str, _turn: Turn) -> str:
    found = box.commerce.find_customer_by_name_zip(args.first_name, args.last_name, args.zip)
    return _found(found, "User not found")


def _check_code(box: Toolbox, args: a.VerificationCode, _key: str, turn: Turn) -> str:
    sent = turn.state.verifying
    if sent is None or box.codes is None:
        raise ToolRefused("no code was sent in this conversation: find the account first")
    if utcnow() >= sent.expires_at:
        turn.state.verifying = None
        raise ToolRefused("the code has expired: find the account again to send a new one")
    if not box.codes.matches(turn.conversation_id, sent, args.code):
        raise CommerceError("That code is not right")
    return sent.user_id


def _calculate(_box: Toolbox, args: a.Calculation, _key: str, _turn: Turn) -> str:
    if not set(args.expression) <= ALLOWED_IN_CALCULATION:
        raise CommerceError("Invalid characters in expression")
    try:
        return str(round(float(_arithmetic(ast.parse(args.expression, mode="eval").body)), 2))
    except (SyntaxError, ZeroDivisionError) as exc:
        raise CommerceError(str(exc)) from None


def _arithmetic(node: ast.expr) -> float:
    """+ - * / on numbers only: `**` and everything else is refused, so nothing can run long."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _arithmetic(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        return ARITHMETIC[type(node.op)](_arithmetic(node.left), _arithmetic(node.right))
    raise SyntaxError("only numbers with + - * / and parentheses")


def _address(args: a.NewAddress) -> Address:
    return Address.model_validate(args.model_dump(include=set(a.NewAddress.model_fields)))


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in [
        Tool(
            "find_user_id_by_email",
            a.ByEmail,
            "Authenticate the customer by the email address on their account.",
            _find_by_email,
            authenticates=True,
        ),
        Tool(
            "find_user_id_by_name_zip",
            a.ByNameZip,
            "Authenticate the customer by first name, last name and zip code.",
            _find_by_name_zip,
            authenticates=True,
        ),
        Tool(
            VERIFY_CODE,
            a.VerificationCode,
            "Confirm the customer with the code emailed to their account's address.",
            _check_code,
            authenticates=True,
        ),
        Tool(
            "get_user_details",
            a.UserId,
            "Profile, addresses, payment methods and order ids of the authenticated customer.",
            lambda box, args, _key, _turn: _found(
                box.commerce.get_customer(args.user_id), "User not found"
            ),
        ),
        Tool(
            "get_order_details",
            a.OrderId,
            "Status, items, tracking and payments of one of the customer's orders.",
            lambda box, args, _key, _turn: _found(
                box.commerce.get_order(args.order_id), "Order not found"
            ),
        ),
        Tool(
            "get_product_details",
            a.ProductId,
            "A product and all its variants (item ids, options, availability, price).",
            lambda box, args, _key, _turn: _found(
                box.commerce.get_product(args.product_id), "Product not found"
            ),
            needs_customer=False,
        ),
        Tool(
            "get_item_details",
            a.ItemId,
            "One variant item: options, availability, price.",
            lambda box, args, _key, _turn: _found(
                box.commerce.product_of_item(args.item_id), "Item not found"
            ).variants[args.item_id],
            needs_customer=False,
        ),
        Tool(
            "calculate",
            a.Calculation,
            "Evaluate arithmetic (digits, + - * / and parentheses); rounded to cents.",
            _calculate,
            needs_customer=False,
        ),
        Tool(
            "transfer_to_human_agents",
            a.Transfer,
            "Hand the conversation to a person, with a summary of the request.",
            lambda _box, _args, _key, _turn: "Transfer successful",
            needs_customer=False,
        ),
        Tool(
            "cancel_pending_order",
            a.Cancellation,
            "Cancel a pending order; reason 'no longer needed' or 'ordered by mistake'.",
            lambda box, args, key, _turn: box.commerce.cancel_pending_order(
                args.order_id, args.reason, key
            ),
            changes_state=True,
            capability=Change.CANCEL_PENDING_ORDER,
        ),
        Tool(
            "modify_pending_order_address",
            a.OrderAddress,
            "Change the shipping address of a pending order.",
            lambda box, args, key, _turn: box.commerce.modify_pending_order_address(
                args.order_id, _address(args), key
            ),
            changes_state=True,
            capability=Change.MODIFY_PENDING_ORDER_ADDRESS,
        ),
        Tool(
            "modify_pending_order_items",
            a.ItemChange,
            "Swap items of a pending order for other variants of the same products (once).",
            lambda box, args, key, _turn: box.commerce.modify_pending_order_items(
                args.order_id, args.item_ids, args.new_item_ids, args.payment_method_id, key
            ),
            changes_state=True,
            capability=Change.MODIFY_PENDING_ORDER_ITEMS,
        ),
        Tool(
            "modify_pending_order_payment",
            a.PaymentChange,
            "Pay a pending order with another of the customer's payment methods.",
            lambda box, args, key, _turn: box.commerce.modify_pending_order_payment(
                args.order_id, args.payment_method_id, key
            ),
            changes_state=True,
            capability=Change.MODIFY_PENDING_ORDER_PAYMENT,
        ),
        Tool(
            "return_delivered_order_items",
            a.ItemReturn,
            "Return items of a delivered order; refund to the original payment or a gift card.",
            lambda box, args, key, _turn: box.commerce.return_delivered_order_items(
                args.order_id, args.item_ids, args.payment_method_id, key
            ),
            changes_state=True,
            capability=Change.RETURN_DELIVERED_ORDER_ITEMS,
        ),
        Tool(
            "exchange_delivered_order_items",
            a.ItemChange,
            "Exchange items of a delivered order for other variants of the same products.",
            lambda box, args, key, _turn: box.commerce.exchange_delivered_order_items(
                args.order_id, args.item_ids, args.new_item_ids, args.payment_method_id, key
            ),
            changes_state=True,
            capability=Change.EXCHANGE_DELIVERED_ORDER_ITEMS,
        ),
        Tool(
            "modify_user_address",
            a.UserAddress,
            "Change the customer's default address.",
            lambda box, args, key, _turn: box.commerce.modify_user_address(
                args.user_id, _address(args), key
            ),
            changes_state=True,
            capability=Change.MODIFY_USER_ADDRESS,
        ),
        Tool(
            "start_password_reset",
            a.UserId,
            "Email the customer a one-time password-reset link (never shown in the chat).",
            lambda box, args, key, _turn: box.commerce.start_password_reset(args.user_id, key),
            capability=Change.START_PASSWORD_RESET,
        ),
        Tool(
            "open_support_case",
            a.SupportCaseRequest,
            "Open a case in the CRM for the authenticated customer.",
            lambda box, args, key, turn: box.crm.open_case(
                turn.state.user_id, args.subject, args.description, key
            ),
        ),
    ]
}
