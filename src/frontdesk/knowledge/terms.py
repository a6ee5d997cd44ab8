"""The words of a question that search and grounding look at."""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

WORD = re.compile(r"[a-z0-9]+")
DOUBLED = re.compile(r"([b-df-hj-km-np-rtv-y])\1$")  # doubled consonants but ll, ss, zz


def query_terms(text: str) -> list[str]:
    """Distinct content words, in order of first use, lower-cased, without stop words."""
    seen: dict[str, None] = {}
    for word in WORD.findall(text.lower()):
        if len(word) > 1 and word not in ENGLISH_STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)


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
