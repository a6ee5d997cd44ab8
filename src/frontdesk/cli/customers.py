"""`frontdesk customers`: a customer's data rights, exported or erased on request, and the
retention period applied (docs/security.md#customers-data-rights)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from frontdesk.cli.common import console, fail, settings_or_exit
from frontdesk.clock import utcnow

if TYPE_CHECKING:
    from frontdesk.config import Settings
    from frontdesk.store.repository import Store

app = typer.Typer(
    help="A customer's data: export it, erase it, or erase what is past the retention period.",
    short_help="A customer's data: export, erase, retention.",
    no_args_is_help=True,
)

Email = Annotated[str, typer.Argument(metavar="EMAIL", help="the customer's email address")]


@app.command("export")
def export(
    email: Email,
    out: Annotated[
        Path | None, typer.Option(help="write the JSON here (default: standard output)")
    ] = None,
) -> None:
    """Everything stored about the customer, as JSON: each conversation as the customer sees it
    (messages, replies, the articles they cite, which messages a person answered), how each
    message was routed, and the emails queued to the address."""
    from frontdesk.api.schemas import CustomerConversation

    settings, store = _open(email)
    ids = _conversations(settings, store, email)
    conversations: list[dict[str, Any]] = []
    for conversation_id in ids:
        view = store.conversation(conversation_id)
        exported = CustomerConversation.of(view).model_dump(mode="json")
        exported["routing"] = [
            {
                "message_id": d.message_id,
                "intent": d.intent.label,
                "tier": d.decision.tier,
                "decided_at": d.created_at.isoformat(),
            }
            for d in view.decisions
        ]
        conversations.append(exported)
    document = {
        "email": email,
        "exported_at": utcnow().isoformat(),
        "conversations": conversations,
        "emails": [
            e.model_dump(mode="json", exclude={"idempotency_key"})
            for e in store.outbox(email.strip().lower())
        ],
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if out is None:
        print(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {len(conversations)} conversations to {out}")


@app.command("erase")
def erase(
    email: Email,
    yes: Annotated[bool, typer.Option("--yes", help="erase without asking")] = False,
) -> None:
    """Erase the customer's conversations: every text, reply, tool result, handoff packet and
    queued email. The decisions stay for audit (intent, confidence, tier, rules, times), without
    any text. Audited as `customer.erased`, with counts only."""
    settings, store = _open(email)
    ids = _conversations(settings, store, email)
    if not ids and not store.outbox(email.strip().lower()):
        console.print(f"nothing stored for {email}")
        return
    if not yes:
        typer.confirm(f"erase {len(ids)} conversations of {email}?", abort=True)
    erased = store.erase(ids, email, actor="cli")
    console.print(
        f"erased {erased.conversations} conversations: {erased.messages} messages, "
        f"{erased.replies} replies, {erased.handoffs} handoffs, {erased.emails} emails queued, "
        f"{erased.mails} received"
    )


@app.command("purge")
def purge(
    older_than: Annotated[
        int | None,
        typer.Option(
            min=1, help="days without activity (default: store.retention_days)", show_default=False
        ),
    ] = None,
) -> None:
    """Erase every conversation with no activity for the retention period, now (the workers
    also do it hourly when store.retention_days is set)."""
    settings = settings_or_exit()
    days = older_than or settings.store.retention_days
    if days is None:
        raise fail("no retention period: set store.retention_days or pass --older-than", code=2)
    from frontdesk.runtime.services import open_store

    store = open_store(settings)
    expired = store.expired_conversations(before=utcnow() - timedelta(days=days))
    erased = store.erase(expired, None, actor="retention")
    console.print(f"erased {erased.conversations} conversations idle for {days}+ days")


def _open(email: str) -> tuple[Settings, Store]:
    if "@" not in email or len(email) > 254:
        raise fail(f"not an email address: {email!r}", code=2)
    from frontdesk.runtime.services import open_store

    settings = settings_or_exit()
    return settings, open_store(settings)


def _conversations(settings: Settings, store: Store, email: str) -> list[str]:
    """The customer's conversations: by the address itself and by the shop's account of it."""
    from frontdesk.commerce.base import CommerceError
    from frontdesk.runtime.services import open_shop

    commerce, _ = open_shop(settings, store)
    try:
        user_id = commerce.find_customer_by_email(email.strip())
    except CommerceError as exc:  # the shop is down: what names the address is still found
        console.print(
            f"[yellow]the shop did not answer ({exc}): conversations where the "
            "customer identified by name and zip code only are not included[/yellow]"
        )
        user_id = None
    return store.conversations_of(email, [user_id] if user_id else [])
