"""Personal data in text: found, redacted before it reaches a hosted model or a log, and kept
out of drafts that would disclose it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from frontdesk.contracts import GuardrailStage, GuardrailVerdict
from frontdesk.guardrails.base import GuardrailSubject, is_generated, verdict

PiiKind = Literal["CARD", "EMAIL", "PHONE", "ADDRESS"]

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# 13–19 digits in groups; the Luhn check below tells card numbers from order or parcel numbers.
CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
# A phone number needs a leading +, brackets or separators: a bare run of digits is more often
# an order or parcel number.
PHONE = re.compile(
    r"(?<![\w#/.-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){1,4}(?![\w/-])"
    r"|(?<![\w#])\+\d{8,15}(?!\w)"
)
DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")
STREET_SUFFIX = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|"
    r"terrace|way|square|sq|parkway|pkwy|highway|hwy|crescent|close"
)
# Street names are capitalised words; only the suffix and the flat number ignore case.
ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'’-]*\.?\s+){{1,4}}(?i:{STREET_SUFFIX})\b\.?"
    r"(?:,?\s+(?i:apt|apartment|suite|unit|flat)\.?\s*#?\w+)?"
    r"|\b[A-ZÆØÅÄÖÜ][\wæøåäöüß'-]*(?:gate|gata|veien|vei|vej|straße|strasse|gasse|weg|straat|laan)"
    r"\s+\d{1,5}[A-Za-z]?\b"
    r"|\b[A-ZÆØÅÄÖÜ][\wæøåäöüß'-]+\s+(?:gate|gata|vei|vej|straße|strasse|str\.)\s+\d{1,5}[A-Za-z]?\b"
)


@dataclass(frozen=True)
class PiiMatch:
    kind: PiiKind
    start: int
    end: int
    text: str


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def find_pii(text: str) -> list[PiiMatch]:
    """Non-overlapping matches, most specific kind first (a card number is not also a phone)."""
    found: list[PiiMatch] = []
    taken: list[tuple[int, int]] = []

    def add(kind: PiiKind, match: re.Match[str]) -> None:
        start, end = match.span()
        if any(start < other_end and other_start < end for other_start, other_end in taken):
            return
        taken.append((start, end))
        found.append(PiiMatch(kind, start, end, match.group(0)))

    for match in EMAIL.finditer(text):
        add("EMAIL", match)
    for match in CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            add("CARD", match)
    for match in ADDRESS.finditer(text):
        add("ADDRESS", match)
    for match in PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 8 <= len(digits) <= 15 and not DATE_LIKE.fullmatch(match.group(0)):
            add("PHONE", match)
    return sorted(found, key=lambda item: item.start)


def redact(text: str) -> str:
    """`text` with each piece of personal data replaced by its kind, e.g. `[EMAIL]`."""
    parts: list[str] = []
    cursor = 0
    for match in find_pii(text):
        parts.append(text[cursor : match.start])
        parts.append(f"[{match.kind}]")
        cursor = match.end
    parts.append(text[cursor:])
    return "".join(parts)


def _digits_or_lower(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) >= 8 and "@" not in text else text.lower()


class PiiDisclosure:
    """Trips when a written answer (a knowledge answer or a model's text) shows a card number,
    or personal data that neither the customer, the cited passages nor a tool gave (someone
    else's email, phone or address)."""

    name = "pii_disclosure"
    stage: GuardrailStage = "draft"

    def check(self, subject: GuardrailSubject) -> GuardrailVerdict:
        draft = subject.draft
        if draft.kind == "template" or (draft.kind == "action" and not is_generated(draft)):
            return verdict(self, False, f"a {draft.kind} draft composed by code")
        known = " ".join([subject.text, *subject.passages.values(), *subject.tool_outputs])
        known_keys = {_digits_or_lower(m.text) for m in find_pii(known)}
        known_lower = known.lower()
        leaked = []
        for match in find_pii(draft.text):
            if match.kind == "CARD" or (
                _digits_or_lower(match.text) not in known_keys
                and match.text.lower() not in known_lower
            ):
                leaked.append(match)
        if leaked:
            kinds = sorted({m.kind.lower() for m in leaked})
            return verdict(
                self,
                True,
                f"the draft discloses personal data nobody gave it: {', '.join(kinds)}",
                [f"[{m.kind}]" for m in leaked],
            )
        return verdict(self, False, "no personal data beyond the customer's own")
