"""The pilot simulator's core: evaluation items replayed through the real pipeline.

Each item is a new conversation on a throwaway copy of the service (its own SQLite store and
queue, the demo shop and articles, the serving intent model, the configured LLM if any): its
turns are accepted and processed one by one as a worker would, and its last turn's decision is
scored against what the item expects.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from frontdesk.commerce.embedded import EmbeddedShop
from frontdesk.confidence.features import stored_features
from frontdesk.config import Settings
from frontdesk.contracts import DecisionRecord, Tier
from frontdesk.evaluation.dataset import EvalItem
from frontdesk.evaluation.judge import foreign_mentions, is_right_reply
from frontdesk.evaluation.metrics import (
    TIER_ORDER,
    ItemOutcome,
    all_to_a_human,
    by_group,
    calibration_error,
    figures,
    intent_confidence_only,
    risk_coverage,
    stage_latency,
)
from frontdesk.runtime.services import Services, build_services

Progress = Callable[[int, int], None]


def replay(
    items: list[EvalItem], settings: Settings, progress: Progress | None = None
) -> list[ItemOutcome]:
    """Replay every item; the configured data directory is only read (its intent model)."""
    with tempfile.TemporaryDirectory(prefix="frontdesk-replay-") as scratch:
        data_dir = Path(scratch)
        serving = settings.data_dir / "models"  # the intent model and the calibrator
        if serving.is_dir():
            shutil.copytree(serving, data_dir / "models")
        throwaway = settings.model_copy(
            update={
                "data_dir": data_dir,
                "store": settings.store.model_copy(update={"url": None}),
                "queue": settings.queue.model_copy(
                    update={"backend": "sqlite", "sqlite_path": None}
                ),
            }
        )
        services = build_services(throwaway)
        try:
            outcomes = []
            for done, item in enumerate(items, start=1):
                outcomes.append(_replay_item(services, item))
                if progress is not None:
                    progress(done, len(items))
            return outcomes
        finally:
            services.close()


def _replay_item(services: Services, item: EvalItem) -> ItemOutcome:
    worker = services.worker("replay")
    conversation_id: str | None = None
    first: DecisionRecord | None = None
    last: DecisionRecord | None = None
    for text in item.turns:
        accepted = services.intake.accept(text, "api", conversation_id)
        conversation_id = accepted.message.conversation_id
        while worker.run_once(0):
            pass
        view = services.store.conversation(conversation_id)
        if not view.decisions or view.decisions[-1].message_id != accepted.message.id:
            raise RuntimeError(f"{item.id}: the message was not decided ({view.messages[-1]})")
        last = view.decisions[-1]
        first = first or last
    assert first is not None and last is not None and conversation_id is not None
    policy = services.pipeline.coordinator.policy
    decision = last.decision
    return ItemOutcome(
        item_id=item.id,
        kind=item.kind,
        intent=item.intent,
        predicted_intent=first.intent.label,
        acceptable_tiers=tuple(item.acceptable_tiers),
        tier=decision.tier,
        confidence=decision.confidence,
        intent_confidence=last.intent.confidence,
        forced_tier=_forced_tier(last, policy.auto_threshold),
        right_reply=is_right_reply(item, last),
        draft_kind=last.draft.kind,
        features=stored_features(last.draft),
        latency_ms=last.latency_ms,
        reply=last.draft.text,
        cited=tuple(source.heading for source in last.draft.sources),
        disclosures=len(_disclosed(services, conversation_id, item, last)),
    )


def _forced_tier(record: DecisionRecord, auto: float) -> Tier:
    """The least tier the rules other than confidence held the message to."""
    by_confidence: Tier = "auto" if record.decision.confidence > auto else "human"
    if TIER_ORDER[record.decision.tier] > TIER_ORDER[by_confidence]:
        return record.decision.tier
    others = [hit for hit in record.decision.rules if not hit.rule.startswith("confidence.")]
    return "human" if others else "auto"


def _disclosed(
    services: Services, conversation_id: str, item: EvalItem, record: DecisionRecord
) -> list[str]:
    """Another customer's order ids or email in the draft: mentions the customer did not write
    and that are not theirs, of orders and accounts that exist in the shop (the support address
    in an article is nobody's data)."""
    shop = EmbeddedShop(services.store)
    memory = services.store.dialogue_states({conversation_id}).get(conversation_id)
    user_id = (memory[1].get("tools") or {}).get("user_id") if memory else None
    customer = shop.get_customer(user_id) if user_id else None
    own_orders = customer.orders if customer else []
    own_email = customer.email if customer else None
    mentions = foreign_mentions(record.draft.text, " ".join(item.turns), own_orders, own_email)
    return [
        mention
        for mention in mentions
        if (shop.find_customer_by_email(mention) if "@" in mention else shop.get_order(mention))
    ]


def report(outcomes: list[ItemOutcome], settings: Settings) -> dict[str, Any]:
    """The replay's figures: overall, per kind and per intent, for the system and for two
    baselines on the same drafts (everything to a human; routing on intent confidence only)."""
    routing = settings.routing
    baselines = {
        "all_to_a_human": all_to_a_human,
        "intent_confidence_only": intent_confidence_only(
            routing.auto_threshold, routing.human_threshold
        ),
    }
    return {
        "system": {
            "overall": figures(outcomes),
            "by_kind": by_group(outcomes, lambda o: o.kind),
            "by_intent": by_group(outcomes, lambda o: o.intent),
            "intent_accuracy": round(
                sum(o.predicted_intent == o.intent for o in outcomes) / max(len(outcomes), 1), 4
            ),
            # The confidence the coordinator routes on: drafts no other rule held to a person.
            "calibration_error": calibration_error(routed_on_confidence(outcomes)),
            "calibration_error_all_drafts": calibration_error(outcomes),
            "latency_ms": stage_latency(outcomes),
        },
        "baselines": {
            name: {
                "overall": figures(outcomes, route),
                "by_kind": by_group(outcomes, lambda o: o.kind, route),
            }
            for name, route in baselines.items()
        },
        "items": [
            {
                "id": o.item_id,
                "kind": o.kind,
                "intent": o.intent,
                "predicted_intent": o.predicted_intent,
                "tier": o.tier,
                "confidence": o.confidence,
                "right_reply": o.right_reply,
                "draft_kind": o.draft_kind,
                "cited": list(o.cited),
                "reply": o.reply,
            }
            for o in outcomes
        ],
        "risk_coverage": {
            "routing_confidence": risk_coverage(outcomes, lambda o: o.confidence),
            "intent_confidence": risk_coverage(outcomes, lambda o: o.intent_confidence),
        },
    }


def routed_on_confidence(outcomes: list[ItemOutcome]) -> list[ItemOutcome]:
    """The outcomes whose tier their reply confidence decided (no rule held them to a person)."""
    return [o for o in outcomes if o.routed_on_confidence]


def write_risk_coverage(curves: dict[str, list[dict[str, float]]], path: Path) -> None:
    """Wrong automatic replies against automation as the automatic threshold moves."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axis = pyplot.subplots(figsize=(6, 4.5))
    for name, curve in curves.items():
        axis.plot(
            [point["automation_rate"] for point in curve],
            [point["wrong_automatic_rate"] for point in curve],
            label=name.replace("_", " "),
        )
    axis.axhline(0.01, linestyle="--", color="grey", label="1 % wrong")
    axis.set(
        xlabel="automation (right automatic replies / routine messages)",
        ylabel="wrong automatic replies / automatic replies",
        xlim=(0, 1),
        ylim=(0, 0.5),
        title="risk–coverage",
    )
    axis.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
