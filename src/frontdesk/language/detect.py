"""Which language a customer wrote in, so that a message in a language the models do not cover is
handed to a person instead of being answered (or sent to a senior specialist who cannot read it).

The guess comes from py3langid's packaged model (139 languages, byte n-grams, naive Bayes; the
model file ships inside the wheel, nothing is downloaded). What decides is not the top language
but the probability the model leaves on the supported languages together: a foreign message
leaves them well under 1 %, an English one with typos and slang a fifth or more, even when some
other language comes out on top (docs/language.md has the measured figures).

A false flag sends an English customer to a person for nothing, so a message is flagged only when
all of these hold:

- enough text is left once links, emails, anything with a digit (order numbers, prices,
  postcodes), emoji and punctuation are taken out: `MIN_WORDS` words and `MIN_LETTERS` letters,
  and `MIN_WORDS_WITHOUT_NAMES` words besides the names ("ok", "#W1234567", an email address,
  "12 Elm St 94105" or "Søren Kierkegaard, Nørrebrogade, København" are too little to tell);
- the supported languages together get less than `MAX_SUPPORTED_PROBABILITY`;
- they still do with the names left out (capitalised words inside a sentence), so the names in
  "Hello from Søren Kierkegaard Nørgaard in København Ø" do not decide.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Protocol, cast

MIN_WORDS = 4
MIN_LETTERS = 12
# Not MIN_WORDS: German capitalises its nouns, and "Wo ist meine Bestellung?" keeps three words.
MIN_WORDS_WITHOUT_NAMES = 3
# On the project's samples (tests/data/language_samples.jsonl) reliable English keeps at least
# 0.16 on "en" in one of its two looks, and the other languages leave it at most 0.014 in both
# (0.005 from five words up): the bound sits inside that gap, near the foreign side, since a
# false flag is the worse error.
MAX_SUPPORTED_PROBABILITY = 0.02
# A message too short to tell by the bounds above still reads as one language when the model puts
# this much on it (and under MAX_SUPPORTED_PROBABILITY on the supported ones): "Esqueci-me da
# palavra-passe." gives Portuguese 0.75, while no short English text of the evaluation set, the
# seed files or tests/data/language_samples.jsonl gets over 0.2 on another language.
SHORT_TEXT_MIN_PROBABILITY = 0.5
# ... and when most of its words are not whole words of the English vocabulary the models read
# through (MiniLM's WordPiece list): short English can lean to a language such as Hausa ("i
# wanna cancel", 0.75) while every word of it is English.
SHORT_TEXT_MAX_KNOWN_SHARE = 0.5  # foreign below it
# Long emails cost time in proportion to their length and say no more about their language.
MAX_CHARS = 2000
UNDETERMINED = "und"
NO_LINGUISTIC_CONTENT = "zxx"  # a py3langid label: the text is not in any language
# One language, several codes: Norwegian is "no" (or "nb", Bokmål) and "nn" (Nynorsk).
_SAME_LANGUAGE = {"no": frozenset({"no", "nn"}), "nb": frozenset({"no", "nn"})}

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+")
_WITH_DIGIT = re.compile(r"\S*\d\S*")  # order ids (#W1234567), prices, postcodes, phone numbers
# Not ":" — "Address: Kungsgatan 7, Stockholm" starts no sentence at the street's name.
_SENTENCE_END = re.compile(r"[.!?¿¡;…\n]+")
_EDGES = "'’-"
# Lower-case words inside names, from languages that do not capitalise nouns; German articles
# ("Sie die Lieferadresse", "Status des Pakets") are left out on purpose.
_NAME_PARTICLES = frozenset(
    {"da", "de", "del", "della", "di", "do", "dos", "du", "la", "le", "van", "y"}
)
# Scripts written without spaces between words: each character counts as a word.
_UNSPACED = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]"
)


@dataclass(frozen=True)
class LanguageGuess:
    language: str  # ISO 639-1 where the language has one ("en", "de"), else py3langid's code
    probability: float  # 0-1, the model's probability for that language
    reliable: bool  # False when the message has too little text (besides names) to tell


@dataclass(frozen=True)
class PreparedText:
    """The words of a message that say which language it is in."""

    text: str  # every word, in order
    without_names: str  # the same less the capitalised words that do not start a sentence
    words: int
    letters: int
    words_without_names: int

    @property
    def enough(self) -> bool:
        return (
            self.words >= MIN_WORDS
            and self.letters >= MIN_LETTERS
            and self.words_without_names >= MIN_WORDS_WITHOUT_NAMES
        )


def prepare(message: str) -> PreparedText:
    """Drop links, emails and every token with a digit, then emoji and punctuation; lower-case a
    message written mostly in capitals, so that shouting reads as the language it is in."""
    text = _WITH_DIGIT.sub(" ", _EMAIL.sub(" ", _URL.sub(" ", message[:MAX_CHARS])))
    cased = [c for c in text if c.isupper() or c.islower()]
    if sum(c.isupper() for c in cased) > len(cased) / 2:
        text = text.lower()
    words: list[str] = []
    kept: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        tokens = _words(sentence)
        words.extend(tokens)
        kept.extend(t for t, name in zip(tokens, _names(tokens), strict=True) if not name)
    count, letters = _size(words)
    return PreparedText(" ".join(words), " ".join(kept), count, letters, _size(kept)[0])


def _size(words: list[str]) -> tuple[int, int]:
    """Words and letters. In a script without spaces each ideograph or kana counts as a word and
    as three letters (its UTF-8 bytes, which is what the model reads)."""
    unspaced = sum(len(_UNSPACED.findall(w)) for w in words)
    spaced = sum(1 for w in words if not _UNSPACED.search(w))
    letters = sum(c.isalpha() for w in words for c in w)
    return spaced + unspaced, letters + 2 * unspaced


def _words(sentence: str) -> list[str]:
    """Runs of letters and combining marks (Devanagari's, Arabic's), with inner apostrophes and
    hyphens: "where's", "Ray-Ban"."""
    chars = (c if c in _EDGES or unicodedata.category(c)[0] in "LM" else " " for c in sentence)
    return [word for token in "".join(chars).split() if (word := token.strip(_EDGES))]


def _names(tokens: list[str]) -> list[bool]:
    """Which words of a sentence are names: capitalised ones after the first, and the particles
    between two of them ("Rue de Rivoli", "Rua da Prata", "Vincent van Gogh")."""
    capital = [i > 0 and t[0].isupper() for i, t in enumerate(tokens)]
    return [
        capital[i]
        or (0 < i < len(tokens) - 1 and t in _NAME_PARTICLES and capital[i - 1] and capital[i + 1])
        for i, t in enumerate(tokens)
    ]


class _Identifier(Protocol):
    @property
    def labels(self) -> list[str]: ...

    def rank(self, text: str) -> list[tuple[str, float]]: ...


_LOADING = threading.Lock()


@cache
def _load_packaged() -> _Identifier:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return cast(_Identifier, LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True))


def packaged_identifier() -> _Identifier:
    """One copy of the model per process (about 1.7 s to load, 80 MB in memory)."""
    with _LOADING:
        return _load_packaged()


class LanguageDetector:
    """Tells which language a message is in and whether it is one the models cover."""

    def __init__(self, supported: frozenset[str] = frozenset({"en"})) -> None:
        self._identifier = packaged_identifier()
        known = set(self._identifier.labels)
        if not supported:
            raise ValueError("supported is empty: name at least one language, e.g. {'en'}")
        unknown = sorted(code for code in supported if code not in known | _SAME_LANGUAGE.keys())
        if unknown:
            raise ValueError(
                f"supported has unknown language codes {unknown}: use ISO 639-1 codes such as "
                "'en' or 'de'"
            )
        self.supported = frozenset(supported)
        self._covered = frozenset().union(*(_SAME_LANGUAGE.get(c, {c}) for c in supported))

    def guess(self, text: str) -> LanguageGuess:
        prepared = prepare(text)
        return self._guess(prepared, self._rank(prepared.text))

    def is_unsupported(self, text: str) -> bool:
        """True only when the message is reliably in a language other than the supported ones."""
        return self.unsupported_language(text) is not None

    def unsupported_language(self, text: str) -> str | None:
        """The language of a message reliably written in none of the supported ones, else None."""
        prepared = prepare(text)
        ranking = self._rank(prepared.text)
        guess = self._guess(prepared, ranking)
        unsupported = (
            guess.reliable
            and guess.language not in self._covered
            and self._supported_probability(ranking) < MAX_SUPPORTED_PROBABILITY
            and self._supported_probability(self._rank(prepared.without_names))
            < MAX_SUPPORTED_PROBABILITY
        )
        return guess.language if unsupported else None

    def short_unsupported_language(self, text: str) -> str | None:
        """For a message too short to be reliable: the language it most likely is, when that is
        a clear guess in none of the supported languages and most of its words are not English
        ones. Short English ("thx", "bye bye", "i wanna cancel") can leave the supported
        languages under 2 % too, so only a caller that found nothing else in the message (the
        intent model reads it as out of scope) should act on it."""
        # The vocabulary loads with the model package: importing this module stays free.
        from frontdesk.embedding.minilm import english_words

        prepared = prepare(text)
        if prepared.enough:  # long enough for `unsupported_language` to decide
            return None
        ranking = self._rank(prepared.text)
        if not ranking:
            return None
        language, probability = ranking[0]
        words = prepared.text.lower().split()
        english = english_words()
        known = sum(word in english for word in words) / len(words)
        foreign = (
            known < SHORT_TEXT_MAX_KNOWN_SHARE
            and language not in self._covered | {NO_LINGUISTIC_CONTENT}
            and float(probability) >= SHORT_TEXT_MIN_PROBABILITY
            and self._supported_probability(ranking) < MAX_SUPPORTED_PROBABILITY
            # Names alone ("Address: Kungsgatan, Stockholm") do not make a message Swedish.
            and self._supported_probability(self._rank(prepared.without_names))
            < MAX_SUPPORTED_PROBABILITY
        )
        return language if foreign else None

    def _rank(self, text: str) -> list[tuple[str, float]]:
        return self._identifier.rank(text) if text else []

    def _guess(self, prepared: PreparedText, ranking: list[tuple[str, float]]) -> LanguageGuess:
        if not ranking:
            return LanguageGuess(UNDETERMINED, 0.0, reliable=False)
        language, probability = ranking[0]
        reliable = prepared.enough and language != NO_LINGUISTIC_CONTENT
        return LanguageGuess(language, round(float(probability), 4), reliable)

    def _supported_probability(self, ranking: list[tuple[str, float]]) -> float:
        return sum(float(p) for language, p in ranking if language in self._covered)
