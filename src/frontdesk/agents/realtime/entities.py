"""What a customer's message says that the real-time agent can act on: ids, identity, yes/no."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from frontdesk.vocabulary import order_ids, without_order_ids

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CODE = re.compile(r"(?<![\w#-])(\d{6})(?![\w-])")  # a one-time code, alone or in a sentence
ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")
NAME_AFTER = re.compile(
    r"\b(?:my name is|name is|name's|i am|i'm|im|this is)\s+([a-z][a-z'-]+)\s+([a-z][a-z'-]+)",
    re.IGNORECASE,
)
BARE_NAME_ZIP = re.compile(
    r"^\s*([a-z][a-z'-]+)\s+([a-z][a-z'-]+)\s*[,;]?\s*(?:zip(?:\s*code)?\s*:?)?\s*(\d{5})\s*\W*$",
    re.IGNORECASE,
)
NOT_NAMES = {
    "looking", "trying", "not", "so", "having", "unable", "still", "going", "a", "the", "very",
    "just", "really", "calling", "writing", "wondering", "here", "back", "sorry", "happy", "in",
}  # fmt: skip
ADDRESS = re.compile(
    r"(?P<address1>\d+[\w .'-]*?[a-z][\w .'-]*?)\s*,\s*"
    r"(?:(?P<address2>(?:apt|apartment|suite|unit|#)\.?\s*[\w-]+)\s*,\s*)?"
    r"(?P<city>[a-z][a-z .'-]+?)\s*,\s*(?P<state>[a-z]{2})\s*,?\s+(?P<zip>\d{5})"
    r"(?:\s*,\s*(?P<country>[a-z][a-z .]+))?",
    re.IGNORECASE,
)
YES = re.compile(
    r"^(yes|yeah|yep|yup|y|sure|ok|okay|confirm(ed)?|correct|go ahead|please do|do it|"
    r"that'?s right|affirmative|absolutely|please proceed|proceed)\b"
)
NO = re.compile(r"^(no|nope|nah|n|don'?t|do not|stop|cancel that|never ?mind|not now)\b")
HEDGES = {"no", "not", "don't", "dont", "wait", "stop", "but", "however", "hold", "nope", "unless"}
ALL_ITEMS = re.compile(r"\b(all|everything|whole order|entire order|every item)\b", re.IGNORECASE)
MISTAKE = re.compile(r"mistake|accident|wrong(ly)? order|by error|didn'?t mean", re.I)
NOT_NEEDED = re.compile(
    r"no longer|don'?t need|do not need|not needed|changed my mind|don'?t want", re.I
)

REASONS = [(MISTAKE, "ordered by mistake"), (NOT_NEEDED, "no longer needed")]
PAYMENT_SOURCES = [
    (re.compile(r"gift ?card", re.I), "gift_card"),
    (re.compile(r"pay ?pal", re.I), "paypal"),
    (re.compile(r"credit ?card|\bcard\b|visa|master ?card|amex", re.I), "credit_card"),
]


@dataclass
class Entities:
    order_ids: list[str] = field(default_factory=list)
    email: str | None = None
    name: tuple[str, str] | None = None
    zip: str | None = None
    code: str | None = None  # a 6-digit one-time code (tools/verification.py)
    address: dict[str, str] | None = None
    reason: str | None = None
    payment_source: str | None = None
    all_items: bool = False
    yes: bool = False
    no: bool = False

    @property
    def order_id(self) -> str | None:
        return self.order_ids[0] if self.order_ids else None


def extract(text: str) -> Entities:
    found = Entities()
    found.order_ids = order_ids(text)
    without_ids = without_order_ids(text)
    email = EMAIL.search(text)
    found.email = email.group(0) if email else None
    found.address = _address(without_ids)
    zip_match = ZIP.search(without_ids)
    found.zip = zip_match.group(1) if zip_match else None
    found.name = _name(without_ids)
    code = CODE.search(without_ids)
    found.code = code.group(1) if code else None
    found.reason = next((reason for pattern, reason in REASONS if pattern.search(text)), None)
    found.payment_source = next(
        (source for pattern, source in PAYMENT_SOURCES if pattern.search(text)), None
    )
    found.all_items = bool(ALL_ITEMS.search(text))
    found.yes, found.no = _yes_no(text)
    return found


def _name(text: str) -> tuple[str, str] | None:
    for pattern in (NAME_AFTER, BARE_NAME_ZIP):
        match = pattern.search(text)
        if match and match.group(1).lower() not in NOT_NAMES:
            return match.group(1).capitalize(), match.group(2).capitalize()
    return None


def _address(text: str) -> dict[str, str] | None:
    match = ADDRESS.search(text)
    if match is None:
        return None
    parts = {key: (value or "").strip() for key, value in match.groupdict().items()}
    parts["state"] = parts["state"].upper()
    parts["city"] = parts["city"].title()
    parts["country"] = parts["country"] or "USA"
    return parts


def _yes_no(text: str) -> tuple[bool, bool]:
    """An explicit yes: starts with a yes-word and hedges nowhere ("yes but…" is not a yes)."""
    words = re.sub(r"[^\w' ]+", " ", text.lower()).split()
    normalised = " ".join(words)
    if YES.match(normalised) and not HEDGES & set(words[1:]):
        return True, False
    return False, bool(NO.match(normalised))
