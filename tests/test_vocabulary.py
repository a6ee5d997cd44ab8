"""The shared vocabulary: one table of cases per rule, so the agents can never disagree."""

from __future__ import annotations

import pytest

from frontdesk.vocabulary import amounts, money_mentions, order_ids, sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("refund me $40 please", [40.0]),
        ("it cost € 12.50", [12.5]),
        ("£7", [7.0]),
        ("I paid 1,200 dollars", [1200.0]),
        ("that's 500 kr", [500.0]),
        ("it was 300 NOK and 20 eur", [300.0, 20.0]),
        ("charged 45 USD twice", [45.0]),
        ("30 GBP", [30.0]),
        ("99 euros", [99.0]),
        ("1 dollar", [1.0]),
        ("149 SEK", [149.0]),
        ("order #W1234567", []),
        ("I ordered 3 lamps", []),
        ("in 5 days", []),
        ("$", []),
    ],
)
def test_money(text: str, expected: list[float]) -> None:
    assert amounts(text) == expected


def test_money_keeps_the_words_as_written() -> None:
    assert money_mentions("we owe you $ 25 or 20 euros") == [("$ 25", 25.0), ("20 euros", 20.0)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is #W1234567", ["#W1234567"]),
        ("order W1234567 please", ["#W1234567"]),
        ("order w1234567", ["#W1234567"]),
        ("it's W 1234567", ["#W1234567"]),
        ("# W1234567 and #W7654321", ["#W1234567", "#W7654321"]),
        ("W123456 is too short", []),
        ("W12345678 is too long", []),
        ("ZW1234567", []),
        ("1234567", []),
    ],
)
def test_order_ids(text: str, expected: list[str]) -> None:
    assert order_ids(text) == expected


@pytest.mark.parametrize(
    ("text", "lines_end_sentences", "expected"),
    [
        ("One. Two! Three?", True, ["One.", "Two!", "Three?"]),
        ("hi\nmy order is late\nthanks", True, ["hi", "my order is late", "thanks"]),
        ("A wrapped\nline.", False, ["A wrapped\nline."]),
        ("First paragraph\n\nSecond one", False, ["First paragraph", "Second one"]),
        ("Pay 3.50 now. Thanks", True, ["Pay 3.50 now.", "Thanks"]),
        ("   ", True, []),
    ],
)
def test_sentences(text: str, lines_end_sentences: bool, expected: list[str]) -> None:
    assert sentences(text, lines_end_sentences=lines_end_sentences) == expected
