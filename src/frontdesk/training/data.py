"""Labelled utterances: reading them from CSV or JSON, fingerprinting them, splitting them."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

OUT_OF_SCOPE = "out_of_scope"
SPLIT_SEED = "frontdesk-intent-v1"
VALIDATION_SHARE = 0.2


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


class DataError(ValueError):
    """A training file that cannot be used; the message says which row and why."""


def read_examples(source: Path | str | None = None, oos_label: str | None = None) -> list[Example]:
    """Rows of text and intent from a CSV file (columns `text`, `intent`) or a JSON file (a list
    of `{"text", "intent"}` objects or of `[text, intent]` pairs); None reads the seed set shipped
    with frontdesk. `oos_label` names the dataset's own out-of-scope label, renamed to ours."""
    if source is None:
        raw = resources.files("frontdesk.training").joinpath("seed_intents.csv").read_text("utf-8")
        name = "seed_intents.csv"
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        raw, name = path.read_text("utf-8"), str(path)
    is_json = name.endswith(".json") or raw.lstrip().startswith("[")
    rows = _json_rows(raw, name) if is_json else _csv_rows(raw, name)
    examples = []
    for where, text, intent in rows:
        text, intent = text.strip(), intent.strip()
        if not text or not intent:
            raise DataError(f"{name}:{where}: empty text or intent")
        examples.append(Example(text, OUT_OF_SCOPE if intent == oos_label else intent))
    if len({example.intent for example in examples}) < 2:
        raise DataError(f"{name}: needs at least two intents")
    return examples


def _csv_rows(raw: str, name: str) -> list[tuple[int, str, str]]:
    reader = csv.DictReader(io.StringIO(raw))
    if not reader.fieldnames or not {"text", "intent"} <= set(reader.fieldnames):
        raise DataError(f"{name}: needs a header with the columns text and intent")
    rows = []
    for line, row in enumerate(reader, start=2):
        if row.get(None):  # DictReader's key for fields beyond the header's
            raise DataError(
                f"{name}:{line}: more fields than the header has; "
                "put a text that contains a comma in double quotes"
            )
        rows.append((line, row.get("text") or "", row.get("intent") or ""))
    return rows


def _json_rows(raw: str, name: str) -> list[tuple[int, str, str]]:
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(items, list):
        raise DataError(f"{name}: expected a list of {{text, intent}} objects or [text, intent]")
    rows = []
    for index, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            rows.append((index, item["text"], str(item.get("intent") or "")))
        elif isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item):
            rows.append((index, item[0], item[1]))
        else:
            raise DataError(f"{name}: item {index} is neither {{text, intent}} nor [text, intent]")
    return rows


def data_hash(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.intent}\t{example.text}\n".encode())
    return digest.hexdigest()


def _text_key(text: str) -> str:
    """The form in which two rows count as the same text, for the split and for merging."""
    return text.strip().lower()


def merge_labels(examples: list[Example], later: list[Example]) -> list[Example]:
    """`examples` and `later` with one row per text (trimmed, case-insensitive), the last label
    given winning: a row of `later` (e.g. a person's label from the inbox, oldest first)
    overrides the same text in `examples`, and a later resolution an earlier one."""
    merged: dict[str, Example] = {}
    for example in [*examples, *later]:
        merged[_text_key(example.text)] = example
    return list(merged.values())


def _in_validation(text: str, share: float) -> bool:
    digest = hashlib.sha256(f"{SPLIT_SEED}\n{_text_key(text)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split_examples(
    examples: list[Example], share: float = VALIDATION_SHARE
) -> tuple[list[Example], list[Example]]:
    """Train and validation rows. Each text's side follows from a seeded hash of the text itself,
    not from its position, so a row stays on the same side when new rows are added: the model
    serving today never trained on tomorrow's validation rows, and comparing the two is fair.
    An intent whose rows would all land in validation keeps them for training."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    train, validation = [], []
    for rows in by_intent.values():
        held = [row for row in rows if _in_validation(row.text, share)]
        if len(held) == len(rows):
            held = []
        held_ids = {id(row) for row in held}
        train += [row for row in rows if id(row) not in held_ids]
        validation += held
    return train, validation
