"""Mail that must never be answered: auto-replies, bounces, mailing lists, noreply senders
(RFC 3834 and the headers auto-responders use in practice). Answering them is how two
auto-responders loop; the per-address reply limit in the sender is the second guard."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage, Message

from frontdesk.channels.email.parsing import address_of, message_ids

NOREPLY_LOCAL_PARTS = {
    "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
    "mailer-daemon", "postmaster", "bounce", "bounces",
}  # fmt: skip
BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply", "auto-reply"}
AUTO_RESPONSE_SUPPRESS = {"all", "oof", "autoreply"}


@dataclass(frozen=True)
class Automatic:
    reason: str
    bounce: bool
    bounced_message_ids: list[str]  # for a bounce: the Message-IDs of the mail that bounced


def automatic(message: EmailMessage, envelope_from: str | None) -> Automatic | None:
    """Why this mail must not be answered, or None for a person's mail."""
    if _is_bounce(message, envelope_from):
        return Automatic("bounce", True, _bounced_ids(message))
    reason = _automatic_reason(message)
    return None if reason is None else Automatic(reason, False, [])


def _is_bounce(message: EmailMessage, envelope_from: str | None) -> bool:
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return True
    if str(message.get("Return-Path", "")).strip() == "<>":
        return True
    report = message.get_content_type() == "multipart/report"
    return report and str(message.get_param("report-type", "")).lower() == "delivery-status"


def _automatic_reason(message: EmailMessage) -> str | None:
    submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if submitted and not submitted.startswith("no"):
        return f"Auto-Submitted: {submitted}"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if message.get("List-Id") is not None or message.get("List-Unsubscribe") is not None:
        return "mailing list (List-Id)"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if message.get(header) is not None:
            return f"{header} present"
    suppress = {
        v.strip().lower() for v in str(message.get("X-Auto-Response-Suppress", "")).split(",")
    }
    if suppress & AUTO_RESPONSE_SUPPRESS:
        return "X-Auto-Response-Suppress"
    if message.get_content_type() == "multipart/report":
        return "a report (multipart/report)"
    sender = address_of(message, "From") or ""
    if sender.split("@")[0] in NOREPLY_LOCAL_PARTS:
        return f"noreply sender {sender}"
    return None


def _bounced_ids(message: EmailMessage) -> list[str]:
    """The Message-ID of the returned mail: from its headers (message/rfc822 or
    text/rfc822-headers part of the report), or the In-Reply-To of a bounce that has none."""
    found: list[str] = []
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found += message_ids(inner[0].get("Message-ID"))
        elif content_type == "text/rfc822-headers":
            for line in str(part.get_content()).splitlines():
                if line.lower().startswith("message-id:"):
                    found += message_ids(line)
    return found or message_ids(message.get("In-Reply-To"))
