"""`frontdesk send` and `frontdesk route`: a message through the running service, or dry-run."""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
import typer

from frontdesk.cli.common import console, fail, settings_or_exit

# One message's reply or handoff (exactly one is set), as the customer's view of the
# conversation shows them: no decision, which is for staff (`frontdesk route --explain` shows
# how a message would be decided).
Outcome = tuple[dict[str, Any] | None, dict[str, Any] | None]


def send(
    text: Annotated[str, typer.Argument(help="the customer's message")],
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="continue this conversation")
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="the conversation's token (printed when it started)")
    ] = None,
    url: Annotated[str | None, typer.Option(help="service URL; default from server.*")] = None,
    wait: Annotated[float, typer.Option(min=0, help="seconds to wait for the outcome")] = 10.0,
) -> None:
    """Send a message to the running service as a customer and show the reply, or that a person
    will answer."""
    settings = settings_or_exit()
    base = url or f"http://{settings.server.host}:{settings.server.port}"
    body: dict[str, str] = {"text": text}
    headers = {"X-Conversation-Token": token} if token else {}
    if conversation:
        body["conversation_id"] = conversation
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            response = client.post("/v1/messages", json=body, headers=headers)
            if response.status_code >= 400:
                raise fail(f"{response.status_code}: {response.json().get('detail')}", code=2)
            accepted = response.json()
            outcome = _wait_for_outcome(client, accepted, wait)
    except httpx.TransportError as exc:
        raise fail(
            f"no frontdesk service at {base} ({exc}); start one with `frontdesk serve`"
        ) from None
    console.print(
        f"conversation {accepted['conversation_id']}  token {accepted['conversation_token']}  "
        f"message {accepted['message_id']}"
    )
    if outcome is None:
        raise fail(f"not processed within {wait} s; is a worker running?")
    reply, handoff = outcome
    if reply is not None:
        console.print(f"\n{reply['text']}", highlight=False)
    elif handoff is not None:
        tier = handoff.get("tier")  # not in the customer's view; shown should it ever be
        to = f"handed to a {tier}" if tier else "handed to a person"
        console.print(f"\n{to}: a person will answer shortly.")


def _wait_for_outcome(
    client: httpx.Client, accepted: dict[str, Any], wait: float
) -> Outcome | None:
    """Poll the customer's view until the message has its reply or handoff (stored together
    with its decision, in one transaction)."""
    deadline = time.monotonic() + wait
    message_id = accepted["message_id"]
    while True:
        response = client.get(
            f"/v1/conversations/{accepted['conversation_id']}",
            # a long poll shorter than the client's timeout, and than what is left of `wait`
            params={"decided": message_id, "wait": min(max(deadline - time.monotonic(), 0), 5)},
            headers={"X-Conversation-Token": accepted["conversation_token"]},
        )
        if response.status_code >= 400:
            raise fail(f"{response.status_code}: {response.json().get('detail')}", code=1)
        conversation = response.json()
        reply = next((r for r in conversation["replies"] if r["in_reply_to"] == message_id), None)
        handoff = next((h for h in conversation["handoffs"] if h["message_id"] == message_id), None)
        if reply is not None or handoff is not None:
            return reply, handoff
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def route(
    text: Annotated[str, typer.Argument(help="a customer message")],
    explain: Annotated[bool, typer.Option("--explain", help="show every rule and input")] = False,
) -> None:
    """Show the tier a message would get, and why; nothing is stored."""
    from frontdesk.runtime.services import build_services

    settings = settings_or_exit()
    services = build_services(settings)
    try:
        context, decision = services.pipeline.explain(text)
        calibrator = services.pipeline.scorer.version
    finally:
        services.close()
    intent, draft = context.intent, context.draft
    calibrated = f"calibrator {calibrator}" if calibrator else "not calibrated: run frontdesk train"
    console.print(
        f"tier [bold]{decision.tier}[/bold] at reply confidence {decision.confidence:.3f} "
        f"({calibrated}; intent {intent.label} {intent.confidence:.3f}, model "
        f"{intent.model_version})"
    )
    for hit in decision.rules:
        console.print(f"  {hit.rule}: {hit.detail}", highlight=False)
        if explain and hit.inputs:
            console.print(f"      inputs {hit.inputs}", highlight=False)
    if explain:
        alternatives = ", ".join(f"{a.label} {a.confidence:.3f}" for a in intent.alternatives)
        console.print(f"  alternatives: {alternatives}", highlight=False)
        console.print(f"  amount at stake: {context.amount_at_stake}", highlight=False)
        if intent.action_probability is not None:
            console.print(
                f"  asks to act: {intent.action_probability:.3f} (else asks how something works)",
                highlight=False,
            )
        if intent.language is not None:
            console.print(f"  language: {intent.language} (not covered)", highlight=False)
        features = ", ".join(f"{name} {value:.3f}" for name, value in sorted(draft.signals.items()))
        console.print(f"  reply-confidence features: {features}", highlight=False)
        console.print(f"\ndraft ({context.draft.agent}):\n{context.draft.text}", highlight=False)
