"""Words every agent reads the same way: sums of money, order ids and sentence ends.

One definition each, with its table of cases in tests/test_vocabulary.py: the intake's "money
at stake", the guardrails' "promised sum", the real-time agent's and the escalation agent's
order ids must never disagree.
"""

from __future__ import annotations

import re

# "$40", "€ 12.50", "1,200 dollars", "500 kr", "30 GBP": a currency sign before, or a currency
# word after the number.
CURRENCY_WORDS = r"dollars?|usd|eur|euros?|pounds|gbp|nok|sek|dkk|kr|kroner|kronor"
MONEY = re.compile(
    rf"[$€£]\s?(\d[\d,]*(?:\.\d+)?)|\b(\d[\d,]*(?:\.\d+)?)\s?(?:{CURRENCY_WORDS})\b",
    re.IGNORECASE,
)
# The shop's order ids: "#W1234567", "W1234567", "w 1234567", "# W1234567".
ORDER_ID = re.compile(r"#?\s?\bW\s?(\d{7})\b", re.IGNORECASE)
# A sentence ends at . ! or ? followed by space, or at a blank line; in a customer's own text a
# line break ends one too (people write "hi\nmy order is late\nthanks"), in an article a single
# line break is only the writer's wrapping.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
LINE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def money_mentions(text: str) -> list[tuple[str, float]]:
    """Each sum of money the text names: (as written, value)."""
    found = []
    for match in MONEY.finditer(text):
        digits = (match.group(1) or match.group(2)).replace(",", "")
        try:
            found.append((match.group(0), float(digits)))
        except ValueError:  # "1,2,3" and the like: not a sum
            continue
    return found


def amounts(text: str) -> list[float]:
    """The values of the sums of money the text names."""
    return [value for _, value in money_mentions(text)]


def order_ids(text: str) -> list[str]:
    """The order ids the text names, in the shop's form "#W1234567", in order."""
    return [f"#W{digits}" for digits in ORDER_ID.findall(text)]


def without_order_ids(text: str) -> str:
    return ORDER_ID.sub(" ", text)


def sentences(text: str, *, lines_end_sentences: bool = True) -> list[str]:
    """The text's sentences, stripped; see SENTENCE_END for where one ends."""
    pattern = LINE_END if lines_end_sentences else SENTENCE_END
    return [part.strip() for part in pattern.split(text) if part.strip()]
