"""Agreement of frontdesk's tool layer with τ²-bench's retail tools, on τ²'s own gold actions.

Every task of tau2_bench/retail/tasks.json runs on a fresh embedded shop imported from τ²'s
db.json. Its gold `actions` go, in order, through `Toolbox.call` as one authenticated
conversation; a changing tool is confirmed with an explicit yes, as a customer would. Each result
is compared with τ²'s output for the same action (reference_train.json): error texts exactly,
strings exactly, records as JSON with money equal within 0.005 (frontdesk rounds to cents, τ²
keeps amounts such as 0.04999999999999716). After the task, the orders and customers that differ
from the imported shop are compared with τ²'s `db_diff`.

Every action lands in exactly one bucket: matching exactly, matching only within the tolerance,
the deliberate item-price deviation (frontdesk gives each modified item its own new variant's
price and options, τ² gives all of them the last one's), refused by frontdesk's policy
(authentication or another customer's record), or mismatching. Prints one JSON document;
progress goes to stderr. Takes about a minute.

    .venv/bin/python bench/tau2_retail.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from frontdesk.commerce.demo_shop import Shop
from frontdesk.commerce.embedded import EmbeddedShop
from frontdesk.commerce.loading import read_tau_shop, replace_shop
from frontdesk.config import load_settings
from frontdesk.contracts import ToolResult
from frontdesk.runtime.services import open_store
from frontdesk.store.repository import Store
from frontdesk.tools.toolbox import TOOLS, Toolbox, ToolState, Turn

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RETAIL = Path("tau2_bench") / "retail"
MONEY_TOLERANCE = 0.005
STORE_FILE = "frontdesk.db"
ITEM_CHANGE = "modify_pending_order_items"

Record = dict[str, Any]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms)
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p95": round(float(np.percentile(values, 95)), 3),
    }


# comparing


@dataclass(frozen=True)
class Difference:
    path: str
    expected: Any
    got: Any

    def as_json(self) -> Record:
        return {"path": self.path, "expected": self.expected, "got": self.got}


def first_difference(expected: Any, got: Any, tolerance: float, path: str = "$") -> Difference | None:
    """The first place where two JSON values differ, numbers within `tolerance`.

    A key missing on one side equals null on the other: frontdesk's payment method has one shape
    for every source (brand, last_four, balance are null where they do not apply), τ²'s omits them.
    """
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in [*expected, *(k for k in got if k not in expected)]:
            found = first_difference(expected.get(key), got.get(key), tolerance, f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return Difference(f"{path} (length)", len(expected), len(got))
        for index, (want, have) in enumerate(zip(expected, got, strict=True)):
            found = first_difference(want, have, tolerance, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if _is_number(expected) and _is_number(got):
        return None if abs(expected - got) <= tolerance else Difference(path, expected, got)
    if type(expected) is not type(got) or expected != got:
        return Difference(path, expected, got)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def agreement(expected: Any, got: Any) -> tuple[str, Difference | None]:
    """'exact', 'within_tolerance' or 'mismatch', with the first difference beyond tolerance."""
    if first_difference(expected, got, 0.0) is None:
        return "exact", None
    found = first_difference(expected, got, MONEY_TOLERANCE)
    return ("within_tolerance", None) if found is None else ("mismatch", found)


def rendered(result: ToolResult) -> Any:
    """A frontdesk result in the form of τ²'s reference: error text, string, or record."""
    if not result.ok:
        return f"Error: {result.error}"
    if set(result.output) == {"result"} and isinstance(result.output["result"], str):
        return result.output["result"]
    return result.output


def reference_form(action: Record) -> Any:
    return action["output_json"] if action["output_json"] is not None else action["output"]


# τ²'s item quirk, applied to frontdesk's records to recognise the deliberate deviation


@dataclass(frozen=True)
class ItemChange:
    """Where a successful modify_pending_order_items put its new items, and τ²'s last variant."""

    order_id: str
    positions: tuple[int, ...]
    last_variant: Record


def item_change(shop: EmbeddedShop, arguments: Record) -> ItemChange | None:
    """τ² replaces, pair by pair, the current first item with the old id: those positions."""
    order = shop.get_order(arguments["order_id"])
    last_new = arguments["new_item_ids"][-1]
    product = shop.product_of_item(last_new)
    if order is None or product is None:
        return None
    item_ids = [item.item_id for item in order.items]
    positions = []
    for old, new in zip(arguments["item_ids"], arguments["new_item_ids"], strict=False):
        if old not in item_ids:
            return None
        position = item_ids.index(old)
        item_ids[position] = new
        positions.append(position)
    variant = product.variants[last_new].model_dump(mode="json")
    return ItemChange(arguments["order_id"], tuple(positions), variant)


def with_tau2_quirk(order: Record, change: ItemChange) -> Record:
    """The order as τ² leaves it: every modified item has the last new variant's price, options."""
    quirked = json.loads(json.dumps(order))
    for position in change.positions:
        quirked["items"][position]["price"] = change.last_variant["price"]
        quirked["items"][position]["options"] = change.last_variant["options"]
    return quirked


# replaying


@dataclass
class Replay:
    """What one task's replay found, action by action and for the shop as a whole."""

    task_id: str
    verdicts: dict[str, list[Record]] = field(default_factory=dict)
    item_changes: list[ItemChange] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, verdict: str, entry: Record) -> None:
        self.verdicts.setdefault(verdict, []).append(entry)


def policy_refusal(shop: EmbeddedShop, state: ToolState, name: str, arguments: Record) -> str | None:
    """Why frontdesk's tool rules (not its shop) would refuse this call, if they would."""
    tool = TOOLS.get(name)
    if tool is None or not tool.needs_customer or name.startswith("find_user_id"):
        return None
    if state.user_id is None:
        return "not authenticated"
    if "user_id" in arguments and arguments["user_id"] != state.user_id:
        return "another customer's account"
    if "order_id" in arguments:
        order = shop.get_order(arguments["order_id"])
        if order is not None and order.user_id != state.user_id:
            return "another customer's order"
    return None


def timed_call(
    toolbox: Toolbox, turn: Turn, name: str, arguments: Record, latencies_ms: list[float]
) -> ToolResult:
    started = time.perf_counter()
    result = toolbox.call(turn, name, arguments)
    latencies_ms.append((time.perf_counter() - started) * 1000)
    return result


def call_with_consent(
    toolbox: Toolbox, turn: Turn, name: str, arguments: Record, latencies_ms: list[float]
) -> ToolResult:
    """Call a tool; when it asks for the customer's explicit yes, give it and call again."""
    result = timed_call(toolbox, turn, name, arguments, latencies_ms)
    if TOOLS[name].changes_state and result.output.get("confirmation_required"):
        turn.confirmed = True
        result = timed_call(toolbox, turn, name, arguments, latencies_ms)
    return result


def judge_action(
    replay: Replay, action: Record, result: ToolResult, refusal: str | None, change: ItemChange | None
) -> None:
    expected, got = reference_form(action), rendered(result)
    entry = {"task_id": replay.task_id, "action_id": action["action_id"], "name": action["name"]}
    verdict, difference = agreement(expected, got)
    if verdict == "mismatch" and not result.ok and refusal is not None:
        replay.add("refused", {**entry, "policy": refusal, "frontdesk_error": result.error})
        return
    if verdict == "mismatch" and change is not None and isinstance(got, dict):
        if agreement(expected, with_tau2_quirk(got, change))[0] != "mismatch":
            replay.add("deviation", entry)
            return
    if verdict != "mismatch":
        replay.add(verdict, entry)
        return
    details = {"arguments": action["arguments"], "first_difference": difference.as_json()}
    if isinstance(expected, str) or isinstance(got, str):
        details.update(expected=expected, got=got)
    replay.add("mismatch", {**entry, **details})


def replay_actions(shop: EmbeddedShop, toolbox: Toolbox, task_id: str, actions: list) -> Replay:
    replay = Replay(task_id)
    state = ToolState()  # one conversation: authentication carries over from action to action
    for index, action in enumerate(actions):
        name, arguments = action["name"], action["arguments"]
        refusal = policy_refusal(shop, state, name, arguments)
        before = item_change(shop, arguments) if name == ITEM_CHANGE else None
        turn = Turn(state=state, message_id=f"replay-{task_id}-{index}", confirmed=False)
        result = call_with_consent(toolbox, turn, name, arguments, replay.latencies_ms)
        change = before if result.ok else None
        if change is not None:
            replay.item_changes.append(change)
        judge_action(replay, action, result, refusal, change)
    return replay


# the shop's net changes


def net_changes(shop: EmbeddedShop, initial: dict[str, dict[str, Record]]) -> dict[str, dict]:
    """Orders and users whose record differs from the imported shop, as frontdesk holds them now."""
    current = {
        "orders": {order_id: shop.get_order(order_id) for order_id in initial["orders"]},
        "users": {user_id: shop.get_customer(user_id) for user_id in initial["users"]},
    }
    return {
        table: {
            key: record.model_dump(mode="json")
            for key, record in records.items()
            if record is not None and record.model_dump(mode="json") != initial[table][key]
        }
        for table, records in current.items()
    }


def judge_shop(
    reference_diff: Record, changes: dict[str, dict], item_changes: list[ItemChange]
) -> tuple[str, Record]:
    """'exact', 'within_tolerance', 'deviation' or 'mismatch' for a task's net changes."""
    verdict, details = compare_changes(reference_diff, changes)
    if verdict != "mismatch" or not item_changes:
        return verdict, details
    quirked = {table: dict(records) for table, records in changes.items()}
    for change in item_changes:
        if change.order_id in quirked["orders"]:
            order = quirked["orders"][change.order_id]
            quirked["orders"][change.order_id] = with_tau2_quirk(order, change)
    if compare_changes(reference_diff, quirked)[0] != "mismatch":
        return "deviation", {}
    return verdict, details


def compare_changes(reference_diff: Record, changes: dict[str, dict]) -> tuple[str, Record]:
    details: Record = {}
    verdicts = set()
    for table, tau2 in reference_diff.items():
        if tau2["added"] or tau2["removed"]:
            details.setdefault("unexpected_in_tau2", []).append(f"{table} added/removed")
        expected = {key: change["new"] for key, change in tau2["modified"].items()}
        got = changes.get(table, {})
        if set(expected) != set(got):
            details.setdefault("changed_ids", {})[table] = {
                "only_in_tau2": sorted(set(expected) - set(got)),
                "only_in_frontdesk": sorted(set(got) - set(expected)),
            }
        for key in sorted(set(expected) & set(got)):
            verdict, difference = agreement(expected[key], got[key])
            verdicts.add(verdict)
            if difference is not None:
                details.setdefault("records", []).append(
                    {"table": table, "id": key, **difference.as_json()}
                )
    if details:
        return "mismatch", details
    return ("within_tolerance" if "within_tolerance" in verdicts else "exact"), {}


# stores


def build_template(shop: Shop, folder: Path) -> Path:
    """The imported shop in a SQLite file, loaded once and copied for every task."""
    store = open_task_store(folder)
    replace_shop(store, shop)
    store.engine.dispose()  # closes the last connection, which checkpoints the WAL into the file
    return folder / STORE_FILE


def open_task_store(folder: Path, template: Path | None = None) -> Store:
    folder.mkdir(parents=True, exist_ok=True)
    if template is not None:
        shutil.copyfile(template, folder / STORE_FILE)
    # The store URL is pinned to SQLite in `folder`, whatever the environment says.
    return open_store(load_settings(data_dir=folder, store={"url": None}))


# the run


def run(data: Path) -> Record:
    started = time.perf_counter()
    retail = data / RETAIL
    tasks = json.loads((retail / "tasks.json").read_text("utf-8"))
    references = {
        task["task_id"]: task
        for task in json.loads((retail / "reference_train.json").read_text("utf-8"))["tasks"]
    }
    shop = read_tau_shop(retail / "db.json")
    initial = {
        "orders": {order.order_id: order.model_dump(mode="json") for order in shop.orders},
        "users": {user.user_id: user.model_dump(mode="json") for user in shop.customers},
    }
    replays, shop_verdicts = [], {}
    with tempfile.TemporaryDirectory(prefix="tau2-retail-") as root:
        template = build_template(shop, Path(root) / "template")
        setup_s = time.perf_counter() - started
        for task in tasks:
            task_id = task["id"]
            reference = references[task_id]
            store = open_task_store(Path(root) / f"task-{task_id}", template)
            try:
                embedded = EmbeddedShop(store)
                replay = replay_actions(embedded, Toolbox(embedded, embedded), task_id, [
                    {**gold, **_reference_action(reference, gold)}
                    for gold in task["evaluation_criteria"]["actions"]
                ])
                changes = net_changes(embedded, initial)
            finally:
                store.engine.dispose()
            shop_verdicts[task_id] = judge_shop(reference["db_diff"], changes, replay.item_changes)
            replays.append(replay)
            log(f"task {task_id}: {_summary(replay)}; shop {shop_verdicts[task_id][0]}")
    return report(data, replays, shop_verdicts, setup_s, time.perf_counter() - started)


def _reference_action(reference: Record, gold: Record) -> Record:
    """τ²'s recorded result of this gold action (same id, name and arguments)."""
    matching = [
        action
        for action in reference["actions"]
        if action["action_id"] == gold["action_id"]
        and action["name"] == gold["name"]
        and action["arguments"] == gold["arguments"]
    ]
    if len(matching) != 1:
        raise SystemExit(f"task {reference['task_id']}: no single reference for {gold['action_id']}")
    return {"output": matching[0]["output"], "output_json": matching[0]["output_json"]}


def _summary(replay: Replay) -> str:
    return ", ".join(f"{verdict} {len(entries)}" for verdict, entries in replay.verdicts.items())


def report(
    data: Path,
    replays: list[Replay],
    shop_verdicts: dict[str, tuple[str, Record]],
    setup_s: float,
    wall_s: float,
) -> Record:
    def actions(verdict: str) -> list[Record]:
        return [entry for replay in replays for entry in replay.verdicts.get(verdict, [])]

    def tasks_with(verdict: str) -> list[str]:
        return [task_id for task_id, (found, _) in shop_verdicts.items() if found == verdict]

    latencies = [ms for replay in replays for ms in replay.latencies_ms]
    refused = actions("refused")
    return {
        "benchmark": "tau2_retail",
        "data": str(data / RETAIL),
        "tasks": len(replays),
        "actions": sum(len(entries) for replay in replays for entries in replay.verdicts.values()),
        "actions_matching_exactly": len(actions("exact")),
        "actions_matching_within_tolerance": len(actions("within_tolerance")),
        "actions_deliberate_deviation": [_action_ref(entry) for entry in actions("deviation")],
        "actions_refused_by_policy": {"count": len(refused), "actions": refused},
        "actions_mismatching": actions("mismatch"),
        "tasks_db_matching": len(tasks_with("exact")) + len(tasks_with("within_tolerance")),
        "tasks_db_matching_only_within_tolerance": tasks_with("within_tolerance"),
        "tasks_db_deliberate_deviation": tasks_with("deviation"),
        "tasks_db_mismatching": [
            {"task_id": task_id, **details}
            for task_id, (found, details) in shop_verdicts.items()
            if found == "mismatch"
        ],
        "toolbox_call_ms": {**percentiles(latencies), "calls": len(latencies)},
        "setup_s": round(setup_s, 2),
        "wall_time_s": round(wall_s, 2),
    }


def _action_ref(entry: Record) -> str:
    return f"{entry['task_id']}/{entry['action_id']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (../shared/data)"
    )
    args = parser.parse_args()
    print(json.dumps(run(args.data.resolve()), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
