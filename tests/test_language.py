"""The language detector: an English customer is never sent to a person for writing English, and a
message in another language is flagged, on the project's samples and on cases written for each
rule (the samples are in tests/data/language_samples.jsonl; bench/language.py measures them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from frontdesk.language import LanguageDetector, LanguageGuess
from frontdesk.language.detect import prepare

SAMPLES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "language_samples.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line
]
REQUIRED = {"de", "fr", "es", "no", "it", "pt", "nl", "sv", "da", "pl"}

TOO_LITTLE_TO_TELL = [
    "",
    "ok",
    "yes",
    "thx",
    "refund??",
    "where's my stuff",
    "#W1234567",
    "jane.doe@example.com",
    "12 Elm St 94105",
    "https://shop.example.com/orders/77120",
    "+1 415 555 0100",
    "😡😡😡",
    "danke",
    "merci beaucoup",
    "gracias",
    "谢谢",
]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


def samples(language: str | None = None, *, other: bool = False) -> list[dict[str, Any]]:
    if other:
        return [s for s in SAMPLES if s["language"] not in ("en", None)]
    return [s for s in SAMPLES if s["language"] == language]


def test_the_samples_cover_what_the_detector_must_handle() -> None:
    assert len(samples("en")) >= 150
    assert {s["language"] for s in samples(other=True)} >= REQUIRED
    assert len(samples(other=True)) >= 100
    assert samples(None)


def test_no_english_sample_is_flagged(detector: LanguageDetector) -> None:
    assert [s["text"] for s in samples("en") if detector.is_unsupported(s["text"])] == []


def test_every_other_language_sample_is_flagged(detector: LanguageDetector) -> None:
    missed = [s["text"] for s in samples(other=True) if not detector.is_unsupported(s["text"])]
    assert missed == []


def test_other_language_samples_are_named_by_their_language(detector: LanguageDetector) -> None:
    # Russian short sentences pass for Ukrainian now and then; both are flagged all the same.
    wrong = [
        (s["language"], detector.guess(s["text"]).language, s["text"])
        for s in samples(other=True)
        if detector.guess(s["text"]).language != s["language"] and s["language"] != "ru"
    ]
    assert wrong == []


def test_samples_without_words_are_unreliable(detector: LanguageDetector) -> None:
    reliable = [s["text"] for s in samples(None) if detector.guess(s["text"]).reliable]
    assert reliable == []


@pytest.mark.parametrize("text", TOO_LITTLE_TO_TELL)
def test_too_little_text_is_unreliable_and_never_flagged(
    detector: LanguageDetector, text: str
) -> None:
    assert not detector.guess(text).reliable
    assert not detector.is_unsupported(text)


def test_a_sentence_is_reliable_and_guessed_with_its_probability(
    detector: LanguageDetector,
) -> None:
    english = detector.guess("Hi, I ordered a pair of running shoes and they never arrived.")
    german = detector.guess("Ich möchte meine Jacke zurückgeben, sie ist leider zu groß.")
    assert english.language == "en" and english.reliable and english.probability > 0.9
    assert german.language == "de" and german.reliable and german.probability > 0.9
    assert detector.guess("") == LanguageGuess("und", 0.0, reliable=False)


@pytest.mark.parametrize(
    "text",
    [
        "merci! where is my order",
        "Bonjour, I'm writing about my order W1122334 which is late.",
        "danke, but the package still hasn't arrived",
        "Obrigado, can you also send the tracking link?",
    ],
)
def test_a_mostly_english_message_with_a_foreign_greeting_is_english(
    detector: LanguageDetector, text: str
) -> None:
    assert detector.guess(text).language == "en"
    assert not detector.is_unsupported(text)


def test_foreign_names_and_addresses_in_english_do_not_decide(detector: LanguageDetector) -> None:
    # The whole text of each leaves English under 2 %: only the second look, without the
    # capitalised names, keeps them English.
    texts = [
        "Hello from Søren Kierkegaard Nørgaard in København Ø",
        "Address: Kungsgatan, Stockholm, Sverige",
        "Order for Jean-Pierre Dubois, Rue de Rivoli, Paris",
    ]
    assert [detector.guess(t).language for t in texts] != ["en"] * len(texts)
    assert [t for t in texts if detector.is_unsupported(t)] == []


@pytest.mark.parametrize(
    "text",
    [
        "Søren Kierkegaard, Nørrebrogade, København, Danmark",
        "Jean-Pierre Dubois, Rue de Rivoli, Paris, France",
        "Hauptstraße 45, 10115 Berlin, Deutschland, Familie Müller",
        "Calle Mayor 5, Madrid, España, Señora García",
    ],
)
def test_a_name_and_address_alone_is_too_little_to_tell(
    detector: LanguageDetector, text: str
) -> None:
    # An English customer answering "what is the delivery address?"
    assert not detector.guess(text).reliable
    assert not detector.is_unsupported(text)


def test_shouting_reads_as_the_language_it_is_in(detector: LanguageDetector) -> None:
    assert not detector.is_unsupported("WHERE IS MY ORDER I PAID 2 WEEKS AGO")
    assert detector.is_unsupported("ICH MÖCHTE MEINE BESTELLUNG STORNIEREN, BITTE")


def test_scripts_written_without_spaces_count_their_characters(
    detector: LanguageDetector,
) -> None:
    assert detector.is_unsupported("我的订单在哪里？")
    assert detector.guess("我的订单在哪里？").language == "zh"
    assert not detector.guess("谢谢").reliable


def test_a_supported_language_is_accepted(detector: LanguageDetector) -> None:
    german = "Wann bekomme ich mein Geld zurück?"
    french = "Quand est-ce que je vais recevoir mon remboursement ?"
    with_german = LanguageDetector(frozenset({"en", "de"}))
    assert detector.is_unsupported(german)
    assert not with_german.is_unsupported(german)
    assert with_german.is_unsupported(french)
    assert not with_german.is_unsupported("Where is my order? It's been two weeks.")


@pytest.mark.parametrize("code", ["no", "nb"])
def test_norwegian_is_one_language_under_its_codes(code: str) -> None:
    with_norwegian = LanguageDetector(frozenset({"en", code}))
    flagged = [s["text"] for s in samples("no") if with_norwegian.is_unsupported(s["text"])]
    assert flagged == []
    # Danish leaves a Norwegian model more than 2 % and passes too: a reader of one reads both.
    assert with_norwegian.is_unsupported(samples("pl")[0]["text"])


def test_an_unknown_or_empty_supported_set_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"unknown language codes \['english'\].*ISO 639-1"):
        LanguageDetector(frozenset({"english"}))
    with pytest.raises(ValueError, match="supported is empty"):
        LanguageDetector(frozenset())


def test_prepare_keeps_only_words() -> None:
    prepared = prepare(
        "Hi!! Order #W1234567 ($49.99) to jane.doe@example.com, see https://x.example/o/1 😡"
    )
    assert prepared.text == "Hi Order to see"
    assert prepared.words == 4
    assert prepare("Ray-Ban's case, 'please'").text == "Ray-Ban's case please"


def test_prepare_leaves_out_names_inside_sentences_but_not_sentence_starts() -> None:
    prepared = prepare("This is Søren, send it to Rua da Prata. Thanks! Where is it?")
    assert prepared.text == "This is Søren send it to Rua da Prata Thanks Where is it"
    assert prepared.without_names == "This is send it to Thanks Where is it"
    assert prepare("Address: Kungsgatan 7, Stockholm").without_names == "Address"
    assert prepare("Können Sie die Lieferadresse ändern?").without_names == "Können die ändern"


def test_a_short_clear_foreign_message_is_named_but_short_english_never_is(
    detector: LanguageDetector,
) -> None:
    assert detector.short_unsupported_language("Esqueci-me da palavra-passe.") == "pt"
    assert detector.short_unsupported_language("danke schön") == "de"
    short_english = [s["text"] for s in samples("en") if not detector.guess(s["text"]).reliable]
    assert len(short_english) >= 30
    named = [t for t in short_english if detector.short_unsupported_language(t)]
    assert named == []
    # A message long enough to tell is the reliable check's to decide.
    assert detector.short_unsupported_language("Wo ist meine Bestellung? Sie ist nicht da.") is None
