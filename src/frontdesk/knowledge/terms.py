"""The words and sentences of a text that search and the guardrails look at."""

from __future__ import annotations

import re
from collections import Counter
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
