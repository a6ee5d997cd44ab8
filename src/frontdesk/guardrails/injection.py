"""Prompt injection in a customer's message: attempts to change what the assistant is told to do.

Each pattern names a technique; a customer who says "ignore my last message" or asks for the
instructions to assemble a chair must not match, so every pattern needs the vocabulary of
instructions to a model (prompt, instructions, rules, mode, restrictions) next to its verb.
"""

from __future__ import annotations

import re

from frontdesk.contracts import GuardrailStage, GuardrailVerdict
from frontdesk.guardrails.base import GuardrailSubject, verdict

_ANY = r"(?:all|any|every|the|your|my|these|those|previous|prior|above|earlier|preceding|"
_ANY += r"original|initial|system|of|that|you|were|given|\s)*"
_RULES = r"(?:instructions?|rules|prompts?|guidelines|directives?|directions|policies|constraints)"

TECHNIQUES: dict[str, re.Pattern[str]] = {
    "override instructions": re.compile(
        rf"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon)\s+{_ANY}{_RULES}\b",
        re.IGNORECASE,
    ),
    "reveal the prompt": re.compile(
        r"\b(?:reveal|show|print|repeat|output|display|leak|dump|tell me|what (?:is|are|was|were))"
        r"\s+(?:me\s+)?(?:your|the)\s+(?:\w+\s+){0,2}?"
        r"(?:system\s+(?:prompt|message|instructions)|(?:hidden|initial|original|secret|internal)"
        r"\s+(?:prompt|instructions|rules)|prompt)\b",
        re.IGNORECASE,
    ),
    "new persona": re.compile(
        r"\b(?:you are now|from now on,? you(?: are|'re| will be)?|pretend (?:to be|you are)|"
        r"act as|roleplay as|behave like)\s+(?:an?\s+|the\s+|my\s+)?(?:\w+\s+){0,2}?"
        r"(?:unrestricted|uncensored|unfiltered|jailbroken|evil|dan|developer|admin(?:istrator)?|"
        r"root|system|ai without|assistant without|model without|different (?:ai|assistant|bot))",
        re.IGNORECASE,
    ),
    "jailbreak mode": re.compile(
        r"\b(?:developer mode|dan mode|jailbreak|do anything now|god mode|sudo mode|"
        r"no restrictions|without (?:any )?restrictions|disable (?:your )?(?:safety|guardrails|"
        r"filters?|content policy))\b",
        re.IGNORECASE,
    ),
    "fake role markers": re.compile(
        r"<\|(?:im_start|im_end|system|assistant|user)\|>|\[/?INST\]|<</?SYS>>|"
        r"^\s*#{2,}\s*(?:system|instruction|assistant)\b|^\s*(?:system|assistant)\s*:|"
        r"[\[(<{]\s*(?:system|assistant|admin|developer)\s*:",
        re.IGNORECASE | re.MULTILINE,
    ),
    "injected instructions": re.compile(
        r"\b(?:new|updated|revised|real|actual|hidden) (?:instructions?|system prompt|rules)\s*:",
        re.IGNORECASE,
    ),
    "policy override": re.compile(
        r"\b(?:approve|issue|grant|process|authori[sz]e)\s+(?:\w+\s+){0,4}?"
        r"(?:refunds?|credits?|compensation)\s+(?:\w+\s+){0,3}?without\s+(?:any\s+)?"
        r"(?:verification|verifying|checking|authentication|approval|asking|question)",
        re.IGNORECASE,
    ),
    # The safeguards the assistant follows are named, not the vocabulary of prompts: "skip the
    # identity check", "ignore the bit about needing a yes", "no need to confirm".
    "skip the safeguards": re.compile(
        r"\b(?:skip|bypass|ignore|disregard|forget about|no need for|don'?t bother with)\s+"
        r"(?:the\s+|your\s+|any\s+|that\s+|this\s+)?(?:bit about\s+)?(?:\w+\s+){0,1}?"
        r"(?:identity|verification|verifying|authentication|security|id)\s*"
        r"(?:checks?|steps?|questions?|process|part)?\b|"
        r"\b(?:ignore|skip|disregard)\s+(?:the\s+)?(?:bit|part|step)\s+about\s+"
        r"(?:needing\s+)?(?:a\s+yes|confirm\w*|verif\w*)|"
        r"\bno need (?:for me )?to (?:confirm|verify)\b",
        re.IGNORECASE,
    ),
    "dictated reply": re.compile(
        r"\b(?:reply|respond|answer)\s+(?:with\s+)?only\s+(?:with\s+)?(?:the\s+word|the\s+"
        r"phrase|[\"'“])",
        re.IGNORECASE,
    ),
    "encoded instructions": re.compile(
        r"\b(?:base ?64|rot ?13|decode (?:this|the following))\b.{0,40}?\b(?:and|then)\s+"
        r"(?:do|follow|execute|run|obey|carry out)\b",
        re.IGNORECASE,
    ),
    # A reset link or sign-in code goes only to the address on file; asking for it in the chat
    # is how someone who knows a customer's email takes over their account.
    "secret to the chat": re.compile(
        r"\b(?:output|show|paste|print|give|post|display|write|put|share|type|send|reveal|tell|"
        r"read)\s+(?:me\s+|us\s+)?(?:the\s+|my\s+|a\s+|that\s+|this\s+|his\s+|her\s+|"
        r"their\s+)?(?:[\w-]+\s+){0,2}?(?:links?|codes?|tokens?|otp|passwords?)\b"
        r"(?:\s+(?:for|of)\s+\S+)?\s+(?:right\s+)?(?:here|in\s+(?:the|this)\s+"
        r"(?:chat|conversation|window)|in\s+your\s+(?:reply|answer|response))\b|"
        r"\binstead\s+of\s+(?:e-?mailing|sending)\s+(?:it|them|the\s+\w+)\b",
        re.IGNORECASE,
    ),
    "mass action": re.compile(
        r"\b(?:every|all(?: the)?)\s+(?:\w+\s+){0,2}?(?:orders?|accounts?|customers?|refunds?)\s+"
        r"(?:in|on|from)\s+(?:the|your)\s+(?:system|database|shop|store)\b",
        re.IGNORECASE,
    ),
}


def injection_techniques(text: str) -> list[str]:
    return [name for name, pattern in TECHNIQUES.items() if pattern.search(text)]


class PromptInjection:
    name = "prompt_injection"
    stage: GuardrailStage = "input"

    def check(self, subject: GuardrailSubject) -> GuardrailVerdict:
        techniques = injection_techniques(subject.text)
        if techniques:
            return verdict(
                self,
                True,
                f"the message tries to instruct the assistant: {', '.join(techniques)}",
                techniques,
            )
        return verdict(self, False, "no instructions to the assistant in the message")
