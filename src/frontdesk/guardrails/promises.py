"""No promises outside policy: an automatic reply commits to no sum, date or deadline that the
policy passages or the tool results do not state.

Checked on knowledge answers and on free text from a language model; the rule-based agents'
sentences are composed from tool results by code and carry the policy by construction.
"""

from __future__ import annotations

import json
import re

from frontdesk.contracts import GuardrailStage, GuardrailVerdict
from frontdesk.guardrails.base import GuardrailSubject, is_generated, verdict
from frontdesk.vocabulary import money_mentions, sentences

PERCENT = re.compile(r"\b\d+(?:\.\d+)?\s?(?:%|percent\b)", re.IGNORECASE)
DURATION = re.compile(
    r"\b\d+(?:\s?(?:-|–|to)\s?\d+)?\s+(?:business |working |calendar )?"
    r"(?:minutes?|hours?|days?|weeks?|months?|years?)\b",
    re.IGNORECASE,
)
DATE = re.compile(
    r"\b(?:today|tonight|tomorrow|next (?:week|month|monday|tuesday|wednesday|thursday|friday)|"
    r"this (?:week|weekend|afternoon|evening)|end of (?:the )?(?:day|week|month)|"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?|"
    r"\d{1,2}(?:st|nd|rd|th)? (?:of )?(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*|"
    r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?)\b",
    re.IGNORECASE,
)
COMMITMENT = re.compile(
    r"\b(?:will|we'll|i'll|you'll|shall|going to|guarantee[sd]?|promise[sd]?|assure|ensure|"
    r"entitled|eligible|owe|refund(?:ed|s)?|credit(?:ed|s)?|compensat\w*|reimburs\w*|voucher|"
    r"discount|waive[sd]?|free of charge|money back|arrive[sd]?|deliver(?:ed|y)?)\b",
    re.IGNORECASE,
)
ASSURANCE = re.compile(r"\b(?:guarantee[sd]?|promise[sd]?|i assure you|you have my word)\b", re.I)
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _numbers(text: str) -> set[float]:
    return {float(value) for value in NUMBER.findall(text.replace(",", ""))}


def _flatten(output: str) -> str:
    """Tool results are JSON: their values, not their quoting, are the evidence."""
    try:
        return " ".join(_values(json.loads(output)))
    except ValueError:
        return output


def _values(data: object) -> list[str]:
    if isinstance(data, dict):
        return [f"{key} {value}" for key, item in data.items() for value in _values(item)]
    if isinstance(data, list):
        return [value for item in data for value in _values(item)]
    return [str(data)]


def unsupported_terms(sentence: str, evidence: str) -> list[str]:
    """The sums, shares, dates and durations in `sentence` that `evidence` does not state."""
    terms: list[str] = []
    known_numbers = _numbers(evidence)
    lowered = evidence.lower()
    terms.extend(
        written for written, value in money_mentions(sentence) if value not in known_numbers
    )
    for pattern in (PERCENT, DURATION):
        for match in pattern.finditer(sentence):
            values = _numbers(match.group(0))
            unit = match.group(0).split()[-1].lower().rstrip("s")
            if not (values <= known_numbers and unit in lowered):
                terms.append(match.group(0))
    terms.extend(m.group(0) for m in DATE.finditer(sentence) if m.group(0).lower() not in lowered)
    return terms


def promise_beyond(sentence: str, evidence: str) -> list[str]:
    """What `sentence` commits to that `evidence` does not state: the sums, shares, dates and
    durations of a commitment, or an assurance ("we guarantee"); empty when it promises nothing
    beyond it. The guardrail and the streamed LLM answer both ask this."""
    terms = unsupported_terms(sentence, evidence)
    if terms and COMMITMENT.search(sentence):
        return terms
    assurance = ASSURANCE.search(sentence)
    if assurance and assurance.group(0).lower() not in evidence.lower():
        return [assurance.group(0)]
    return []


class PolicyPromise:
    name = "policy_promise"
    stage: GuardrailStage = "draft"

    def check(self, subject: GuardrailSubject) -> GuardrailVerdict:
        draft = subject.draft
        if draft.kind == "template" or (draft.kind == "action" and not is_generated(draft)):
            return verdict(self, False, f"a {draft.kind} draft composed by code")
        evidence = " ".join([*subject.passages.values(), *map(_flatten, subject.tool_outputs)])
        promised = [
            f"{sentence} ({', '.join(terms)})"
            for sentence in sentences(draft.text)
            if (terms := promise_beyond(sentence, evidence))
        ]
        if promised:
            return verdict(
                self,
                True,
                f"{len(promised)} commitment(s) to sums, dates or guarantees the policy does not "
                "state",
                promised,
            )
        return verdict(self, False, "no commitment beyond what the policy and tools state")
