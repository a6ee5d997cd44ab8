"""Whether a draft is the right reply to an evaluation item, were it sent as it stands.

A reply is judged on what the customer would see: the kind of answer it is (an article answer,
an account action, a polite decline, a greeting), the article section it cites, the facts it
must state and must never state, and whether it names another customer's orders or email.
"""

from __future__ import annotations

from collections.abc import Collection

from frontdesk.contracts import DecisionRecord, Source
from frontdesk.evaluation.dataset import EvalItem
from frontdesk.vocabulary import order_ids

EMAIL_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.+-_@"


def cites_section(sources: list[Source], sections: list[str]) -> bool:
    """True when a cited passage comes from one of the "article-stem#Section heading" named."""
    for source in sources:
        parts = [part.strip() for part in source.heading.split("›")]
        for section in sections:
            stem, _, heading = section.partition("#")
            if stem in source.document and heading.strip() in parts:
                return True
    return False


def states_facts(text: str, must_contain: list[str], must_not_contain: list[str]) -> bool:
    lowered = text.lower()
    return all(fact.lower() in lowered for fact in must_contain) and not any(
        fact.lower() in lowered for fact in must_not_contain
    )


def is_right_reply(item: EvalItem, record: DecisionRecord) -> bool:
    """Would sending this draft answer the item rightly?"""
    draft, label = record.draft, record.intent.label
    if not states_facts(draft.text, item.must_contain, item.must_not_contain):
        return False
    if item.needs == "person":
        return False  # whatever the bot says, a person had to answer
    if item.needs == "decline":
        return draft.kind == "template" and label == "out_of_scope"
    if item.needs == "action":
        return draft.kind == "action"
    if not item.sections:  # greetings and thanks
        return draft.kind == "template" and label == "small_talk"
    return (
        draft.kind == "knowledge" and draft.grounded and cites_section(draft.sources, item.sections)
    )


def foreign_mentions(
    reply: str, customer_words: str, own_orders: Collection[str], own_email: str | None
) -> list[str]:
    """Order ids and email addresses in a reply that neither the customer wrote nor belong to
    the customer the conversation authenticated: a disclosure of someone else's data."""
    said = customer_words.lower()
    found = [
        order_id
        for order_id in order_ids(reply)
        if order_id not in own_orders and order_id[1:].lower() not in said
    ]
    for word in reply.lower().split():
        email = word.strip(".,;:!?()<>\"'")
        is_email = "@" in email and all(char in EMAIL_CHARS for char in email)
        if is_email and email != (own_email or "").lower() and email not in said:
            found.append(email)
    return found
