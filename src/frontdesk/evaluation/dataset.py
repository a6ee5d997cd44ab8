"""The evaluation set: customer messages labelled with what a right decision does with them.

One JSON object a line (`data/eval_set.jsonl`, shipped in the package). Each item is a message,
or a short conversation, with its kind, the intent of its first turn, the help-article sections
that answer it, what it needs (an answer, an action on the account, a person, a polite decline),
the tiers a right routing may choose and short phrases a right reply contains or never contains.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from frontdesk.contracts import Tier

DEFAULT_SEED = 20261202
PACKAGED = "frontdesk.evaluation:data/eval_set.jsonl"  # how errors name the shipped file

Kind = Literal[
    "information",  # a question a help article answers
    "action",  # a request to act on the customer's account
    "out_of_scope",  # nothing the shop does: weather, recipes, other companies, homework
    "complex",  # needs a person: disputes, legal threats, compensation, tangled problems
    "person_request",  # the customer asks for a person
    "injection",  # tries to override the assistant's instructions or policy
    "non_english",  # written in another language than English
    "small_talk",  # greetings, thanks, chit-chat
]
Need = Literal["answer", "action", "person", "decline"]
# The labels of src/frontdesk/training/seed_intents.csv.
Intent = Literal[
    "track_order",
    "cancel_order",
    "return_item",
    "exchange_item",
    "change_shipping_address",
    "change_order",
    "recover_password",
    "damaged_item",
    "edit_account",
    "refund_status",
    "warranty",
    "delivery_options",
    "payment_methods",
    "payment_issue",
    "product_availability",
    "get_invoice",
    "discount_code",
    "newsletter",
    "create_account",
    "delete_account",
    "complaint",
    "feedback",
    "place_order",
    "contact_human",
    "small_talk",
    "out_of_scope",
]
Variety = Literal[
    "typo",  # misspelt words
    "slang",  # informal words and abbreviations
    "run_on",  # one long sentence without punctuation
    "two_questions",  # two questions in one message
    "indirect",  # "I was wondering whether…"
    "angry",
    "very_short",  # four words or fewer
    "formal",  # a formal email
    "long",  # forty words or more
    "lowercase",  # no capital letters
    "all_caps",
    "emoji",
    "context",  # a backstory before the question
    "order_number",  # names an order ("#W1234567")
    "identity",  # gives an email address or a name and zip code
    "ineligible",  # asks for an action the order's status or the policy does not allow
    "keyword_trap",  # words of a shop intent in a message about something else
    "multi_turn",  # more than one turn
]


class EvalSetError(ValueError):
    """An evaluation file that cannot be used; the message names the line and the reason."""


class EvalItem(BaseModel):
    """One labelled message or short conversation (1–4 customer turns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: Kind
    turns: list[str] = Field(min_length=1, max_length=4)
    intent: Intent  # of the first turn
    sections: list[str] = []  # "article-stem#Section heading" that answer it
    needs: Need
    acceptable_tiers: list[Tier] = Field(min_length=1)
    must_contain: list[str] = []  # a right reply contains each (case-insensitive)
    must_not_contain: list[str] = []  # a right reply contains none
    variety: list[Variety] = []

    @field_validator("turns", "must_contain", "must_not_contain")
    @classmethod
    def _no_blank_strings(cls, values: list[str]) -> list[str]:
        if any(not value.strip() or value != value.strip() for value in values):
            raise ValueError("strings must be non-empty, without surrounding whitespace")
        return values

    @field_validator("sections")
    @classmethod
    def _section_references(cls, values: list[str]) -> list[str]:
        for value in values:
            stem, hash_, heading = value.partition("#")
            parts = (stem, heading)
            if not hash_ or any(not part or part != part.strip() for part in parts):
                raise ValueError(f"{value!r} is not 'article-stem#Section heading'")
        return values

    @field_validator("acceptable_tiers", "variety", "sections")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("lists no value twice")
        return values

    @property
    def text(self) -> str:
        """The first customer turn."""
        return self.turns[0]


def load_items(path: Path | str | None = None) -> list[EvalItem]:
    """The items of a JSONL file; None reads the set shipped with frontdesk. A line that is not
    an item, or repeats an id, raises EvalSetError naming the file, the line and the reason."""
    if path is None:
        name = PACKAGED
        raw = (
            resources.files("frontdesk.evaluation")
            .joinpath("data", "eval_set.jsonl")
            .read_text(encoding="utf-8")
        )
    else:
        file = Path(path)
        if not file.is_file():
            raise EvalSetError(f"{file}: no such file")
        name, raw = str(file), file.read_text(encoding="utf-8")
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise EvalSetError(f"{name}:{number}: not JSON ({error.msg})") from None
        try:
            item = EvalItem.model_validate(data)
        except ValidationError as error:
            raise EvalSetError(f"{name}:{number}: {_summary(error)}") from None
        if item.id in seen:
            raise EvalSetError(f"{name}:{number}: id {item.id!r} repeats line {seen[item.id]}")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise EvalSetError(f"{name}: holds no items")
    return items


def _summary(error: ValidationError) -> str:
    problems = []
    for detail in error.errors():
        where = ".".join(str(part) for part in detail["loc"]) or "item"
        problems.append(f"{where}: {detail['msg']}")
    return "; ".join(problems)


def in_dev(item_id: str, seed: int = DEFAULT_SEED) -> bool:
    """The side of the split an id falls on: a SHA-256 of the seed and the id, so it depends
    neither on the other items nor on their order."""
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).digest()
    return digest[0] % 2 == 0


def split(
    items: Iterable[EvalItem], seed: int = DEFAULT_SEED
) -> tuple[list[EvalItem], list[EvalItem]]:
    """(dev, test): each item on one side by a stable hash of its id and the seed, about half
    each; the items keep their order."""
    dev: list[EvalItem] = []
    test: list[EvalItem] = []
    for item in items:
        (dev if in_dev(item.id, seed) else test).append(item)
    return dev, test
