"""The words and sentences of a text that search and the guardrails look at."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping
from functools import lru_cache

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from frontdesk.vocabulary import sentences

WORD = re.compile(r"[a-z0-9]+")
DOUBLED = re.compile(r"([b-df-hj-km-np-rtv-y])\1$")  # doubled consonants but ll, ss, zz


def content_words(text: str) -> list[str]:
    """Every content word, in order, lower-cased, without stop words."""
    return [w for w in WORD.findall(text.lower()) if len(w) > 1 and w not in ENGLISH_STOP_WORDS]


def query_terms(text: str) -> list[str]:
    """Distinct content words, in order of first use."""
    return list(dict.fromkeys(content_words(text)))


@lru_cache(maxsize=1 << 16)  # a corpus repeats its words; indexing stems each occurrence
def stem(word: str) -> str:
    """A light suffix strip so "returns", "returned" and "returning" meet "return"."""
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            root = word[: -len(suffix)] + replacement
            if suffix in ("ing", "ed") and DOUBLED.search(root):
                root = root[:-1]  # shipping → ship, stopped → stop
            return root
    return word


def stems(text: str) -> set[str]:
    return {stem(word) for word in query_terms(text)}


def term_counts(text: str) -> Counter[str]:
    """How often each stemmed content word occurs."""
    return Counter(stem(word) for word in content_words(text))


def telling_sentences(text: str, shortest: int = 3) -> list[str]:
    """The text's sentences of at least `shortest` words; the whole text when none is that long."""
    return [part for part in sentences(text) if len(part.split()) >= shortest] or [text]


LETTERS = "abcdefghijklmnopqrstuvwxyz"
LETTERS_RUN = re.compile(r"[A-Za-z]+")
SPELLED_MIN_LETTERS = 5  # a short word's one-letter neighbours are other words ("wok", "work")


def one_edit_away(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, replacement or insertion from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return {
        *(a + b[1:] for a, b in splits if b),
        *(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1),
        *(a + c + b[1:] for a, b in splits if b for c in LETTERS),
        *(a + c + b for a, b in splits for c in LETTERS),
    }


def respelled(text: str, words: Mapping[str, int], english: Collection[str]) -> str:
    """`text` with each misspelt word replaced by the word it most likely means: a word of at
    least five letters that is neither in `words` (the articles' words and how many passages
    hold each) nor English, one edit from a word in `words` with the same first letter (the most
    frequent of them wins). "whats the waranty on the pan?" becomes "whats the warranty on the
    pan?"; a real word the articles lack ("spoon") is left alone."""

    def mend(match: re.Match[str]) -> str:
        word = match[0].lower()
        if len(word) < SPELLED_MIN_LETTERS or word in words or _is_english(word, english):
            return match[0]
        if match.start() > 0 and match[0][0].isupper() and not match[0].isupper():
            return match[0]  # a name or a place ("Hoxne", "Lager Street")
        # Typing rarely gets the first letter wrong, and a word that differs there is often
        # another word: "deactivate" is not "reactivate", "tweak" not "weak".
        near = [c for c in one_edit_away(word) if c in words and c[0] == word[0]]
        if not near:
            return match[0]
        meant = max(near, key=lambda c: (words[c], c))
        return meant.capitalize() if match[0][0].isupper() else meant

    return LETTERS_RUN.sub(mend, text)


# The vocabulary holds base forms: "dented" is "dent" + "ed", "flaking" is "flake" + "ing".
_INFLECTIONS = (("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("es", ""), ("s", ""),
                ("er", ""), ("ly", ""), ("d", ""), ("nt", ""))  # fmt: skip
# ("nt": "wasnt", "havent" are "was", "have" written without the apostrophe.)


def _is_english(word: str, english: Collection[str]) -> bool:
    for ending, base in _INFLECTIONS:
        if word.endswith(ending):
            root = word[: -len(ending)]
            if root + base in english or (DOUBLED.search(root) and root[:-1] in english):
                return True  # "shopped" is "shop"
    return word in english
