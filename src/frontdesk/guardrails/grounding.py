"""Groundedness: every claim in a knowledge answer is supported by a passage it cites.

A sentence is supported when most of its content words (lightly stemmed) occur in one cited
passage, every number in it occurs there too, and the passage sentence closest to it agrees on
negation ("can" vs "cannot"). Sentences without content (greetings, "hope this helps") claim
nothing and pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from frontdesk.contracts import GuardrailStage, GuardrailVerdict
from frontdesk.guardrails.base import GuardrailSubject, verdict
from frontdesk.knowledge.terms import sentences

MIN_COVERAGE = 0.75
MIN_CONTENT_WORDS = 3
WORD = re.compile(r"[a-z0-9]+(?:[.,]\d+)?")
CITATION = re.compile(r"\[\d+(?:,\s*\d+)*\]")
SOURCE_LINE = re.compile(r"^\s*sources?:.*$", re.IGNORECASE | re.MULTILINE)
NEGATIONS = frozenset({"not", "no", "never", "cannot", "cant", "dont", "doesnt", "isnt", "arent",
                       "wont", "without", "nor", "neither", "unable"})  # fmt: skip
_STOP_WORDS = """a about above after again all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just let me more most my myself of off on once only or other our ours ourselves out over own
same she should so some such than that the their theirs them themselves then there these they
this those through to too under until up very was we were what when where which while who whom
why will with would you your yours yourself yourselves us get got please may might must shall
happy help hope glad sure thanks thank hi hello dear customer team yes ok okay course"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # shipp(ed) → ship
    return word


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower().replace("'", "").replace("’", ""))


def content_words(text: str) -> set[str]:
    return {
        _stem(word)
        for word in _words(text)
        if word not in STOP_WORDS and word not in NEGATIONS and not word[0].isdigit()
    }


def numbers(text: str) -> set[str]:
    return {word.replace(",", "") for word in _words(text) if word[0].isdigit()}


def _negated(text: str) -> bool:
    return any(word in NEGATIONS for word in _words(text)) or "n't" in text.lower()


@dataclass(frozen=True)
class Support:
    sentence: str
    coverage: float
    supported: bool


def support(sentence: str, passages: list[str]) -> Support:
    words = content_words(sentence)
    if len(words) < MIN_CONTENT_WORDS and not numbers(sentence):
        return Support(sentence, 1.0, True)
    best = Support(sentence, 0.0, False)
    for passage in passages:
        coverage = len(words & content_words(passage)) / len(words) if words else 1.0
        if coverage <= best.coverage:
            continue
        closest = max(
            sentences(passage), key=lambda part: len(words & content_words(part)), default=""
        )
        agrees = _negated(closest) == _negated(sentence)
        has_numbers = numbers(sentence) <= numbers(passage)
        best = Support(sentence, coverage, coverage >= MIN_COVERAGE and agrees and has_numbers)
    return best


def claims(draft_text: str) -> list[str]:
    """The draft's sentences, without the citation lines and markers our agents add."""
    return sentences(CITATION.sub("", SOURCE_LINE.sub("", draft_text)))


class Groundedness:
    name = "groundedness"
    stage: GuardrailStage = "draft"

    def check(self, subject: GuardrailSubject) -> GuardrailVerdict:
        draft = subject.draft
        if draft.kind != "knowledge":
            return verdict(self, False, f"a {draft.kind} draft rests on its template or tools")
        if not draft.grounded:
            return verdict(self, True, "the drafting agent found no passage to answer from")
        cited = [
            subject.passages[s.chunk_id] for s in draft.sources if s.chunk_id in subject.passages
        ]
        if not cited:
            return verdict(self, True, "the draft cites no passage that can be read")
        unsupported = [
            s for s in map(lambda c: support(c, cited), claims(draft.text)) if not s.supported
        ]
        if unsupported:
            return verdict(
                self,
                True,
                f"{len(unsupported)} sentence(s) not supported by the cited passages",
                [f"{s.sentence} (coverage {s.coverage:.2f})" for s in unsupported],
            )
        return verdict(self, False, "every sentence is supported by a cited passage")
