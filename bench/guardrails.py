"""Precision and recall of each guardrail on the project's guardrail cases, entity-level
precision and recall of the PII redactor, and whether any tripped case would be sent
automatically. Prints one JSON document; the timing is the median over --repeats runs.

Two case sets (tests/guardrail_cases.py): `tuned`, the cases the rules were tuned on (the
figures say the rules do what those cases ask), and `held_out`, written afterwards and never
used to change a rule (the honest estimate).

    .venv/bin/python bench/guardrails.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from frontdesk.agents.coordinator import Coordinator, RoutingPolicy
from frontdesk.contracts import RoutingContext
from frontdesk.guardrails import Guardrails, find_pii
from frontdesk.rules import default_rules
from guardrail_cases import CASES, HELD_OUT_CASES, HELD_OUT_PII_TEXTS, NOW, PII_TEXTS, Case


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def per_guardrail(
    guardrails: Guardrails, cases: list[Case]
) -> dict[str, dict[str, float | int | None]]:
    counts: dict[str, Counter[str]] = {g.name: Counter() for g in guardrails.guardrails}
    for case in cases:
        tripped = {v.guardrail for v in guardrails.check(case.subject()) if v.tripped}
        for name, count in counts.items():
            expected, got = name in case.trips, name in tripped
            count["tp" if expected and got else "fp" if got else "fn" if expected else "tn"] += 1
    return {
        name: {
            "cases_expected_to_trip": c["tp"] + c["fn"],
            "tp": c["tp"],
            "fp": c["fp"],
            "fn": c["fn"],
            "precision": ratio(c["tp"], c["tp"] + c["fp"]),
            "recall": ratio(c["tp"], c["tp"] + c["fn"]),
        }
        for name, c in counts.items()
    }


def pii_entities(texts: list[tuple[str, list[str]]]) -> dict[str, float | int | None]:
    expected = found = matched = 0
    for text, kinds in texts:
        got = [m.kind for m in find_pii(text)]
        expected += len(kinds)
        found += len(got)
        matched += sum((Counter(kinds) & Counter(got)).values())
    return {
        "texts": len(texts),
        "entities": expected,
        "precision": ratio(matched, found),
        "recall": ratio(matched, expected),
    }


def sent_automatically(guardrails: Guardrails, cases: list[Case]) -> dict[str, int]:
    """Tripped cases routed at confidence 0.99, with the default rules and with none."""
    result = {}
    for label, rules in (("default_rules", tuple(default_rules())), ("no_rules", ())):
        coordinator = Coordinator(RoutingPolicy(0.9, 0.7, frozenset(), rules))
        sent = 0
        for case in cases:
            subject = case.subject()
            verdicts = guardrails.check(subject)
            if not any(v.tripped for v in verdicts):
                continue
            context = RoutingContext(
                text=case.text,
                intent=subject.intent.model_copy(update={"confidence": 0.99}),
                draft=subject.draft.model_copy(update={"confidence": None}),
                at=NOW,
                guardrails=verdicts,
            )
            sent += coordinator.decide(context).tier == "auto"
        result[label] = sent
    return result


def evaluate(
    guardrails: Guardrails, cases: list[Case], texts: list[tuple[str, list[str]]]
) -> dict[str, object]:
    return {
        "cases": len(cases),
        "cases_per_category": dict(Counter(case.category for case in cases)),
        "guardrails": per_guardrail(guardrails, cases),
        "pii_redaction": pii_entities(texts),
        "tripped_cases_sent_automatically": sent_automatically(guardrails, cases),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    guardrails = Guardrails()
    subjects = [case.subject() for case in CASES]
    per_case_ms = []
    for _ in range(options.repeats):
        started = time.perf_counter()
        for subject in subjects:
            guardrails.check(subject)
        per_case_ms.append((time.perf_counter() - started) * 1000 / len(subjects))
    print(
        json.dumps(
            {
                "tuned": evaluate(guardrails, CASES, PII_TEXTS),
                "held_out": evaluate(guardrails, HELD_OUT_CASES, HELD_OUT_PII_TEXTS),
                "all_guardrails_ms_per_turn_median": round(statistics.median(per_case_ms), 4),
                "repeats": options.repeats,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
