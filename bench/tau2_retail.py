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
(authentication or another customer's record), or mismatching. Tasks with refusals are then
replayed once more, each unauthenticated action preceded by find_user_id_by_email for its
record's owner, so that their changes are checked too (`refused_tasks_replayed_signed_in`).
Prints one JSON document; progress goes to stderr. Takes about a minute.

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
RECORDED = ("error", "output", "output_json")  # what τ² recorded of each action

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


def first_difference(
    expected: Any, got: Any, tolerance: float, path: str = "$"
) -> Difference | None:
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
    if not arguments.get("new_item_ids") or "order_id" not in arguments:
        return None
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
    refused_records: set[tuple[str, str]] = field(default_factory=set)
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, verdict: str, entry: Record) -> None:
        self.verdicts.setdefault(verdict, []).append(entry)


def policy_refusal(shop: EmbeddedShop, state: ToolState, action: Record) -> str | None:
    """Why frontdesk's tool rules (not its shop) would refuse this call, if they would."""
    name, arguments = action["name"], action["arguments"]
    tool = TOOLS.get(name)
    if name.startswith("find_user_id"):
        switching = state.user_id not in (None, action["output"]) and not action["error"]
        return "conversation signed in as another customer" if switching else None
    if tool is None or not tool.needs_customer:
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
    _call, result = toolbox.call(turn, name, arguments)
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
    replay: Replay,
    action: Record,
    result: ToolResult,
    refusal: str | None,
    change: ItemChange | None,
) -> None:
    expected, got = reference_form(action), rendered(result)
    entry = {"task_id": replay.task_id, "action_id": action["action_id"], "name": action["name"]}
    verdict, difference = agreement(expected, got)
    if verdict == "mismatch" and not result.ok and refusal is not None:
        replay.add("refused", {**entry, "policy": refusal})
        return
    quirk_explains = (
        verdict == "mismatch"
        and change is not None
        and isinstance(got, dict)
        and agreement(expected, with_tau2_quirk(got, change))[0] != "mismatch"
    )
    if quirk_explains:
        replay.add("deviation", entry)
        return
    if verdict != "mismatch":
        replay.add(verdict, entry)
        return
    details = {"arguments": action["arguments"], "first_difference": difference.as_json()}
    if isinstance(expected, str) or isinstance(got, str):
        details.update(expected=expected, got=got)
    replay.add("mismatch", {**entry, **details})


def owner_of(shop: EmbeddedShop, arguments: Record) -> str | None:
    if "user_id" in arguments:
        return arguments["user_id"]
    order = shop.get_order(arguments["order_id"]) if "order_id" in arguments else None
    return None if order is None else order.user_id


def sign_in_owner(shop: EmbeddedShop, toolbox: Toolbox, turn: Turn, arguments: Record) -> None:
    """Authenticate the conversation, through the tools, as the owner of the action's record."""
    owner = owner_of(shop, arguments)
    customer = None if owner is None else shop.get_customer(owner)
    if customer is not None:
        toolbox.call(turn, "find_user_id_by_email", {"email": customer.email})


def replay_actions(
    shop: EmbeddedShop, toolbox: Toolbox, task_id: str, actions: list, sign_in: bool = False
) -> Replay:
    """Replay one task's actions as one conversation; `sign_in` first authenticates the owner
    whenever an action would be refused as unauthenticated (that call is not an action)."""
    replay = Replay(task_id)
    state = ToolState()  # one conversation: authentication carries over from action to action
    for index, action in enumerate(actions):
        name, arguments = action["name"], action["arguments"]
        turn = Turn(state=state, message_id=f"replay-{task_id}-{index}", confirmed=False)
        refusal = policy_refusal(shop, state, action)
        if sign_in and refusal == "not authenticated":
            sign_in_owner(shop, toolbox, turn, arguments)
            refusal = policy_refusal(shop, state, action)
        before = item_change(shop, arguments) if name == ITEM_CHANGE else None
        result = call_with_consent(toolbox, turn, name, arguments, replay.latencies_ms)
        change = before if result.ok else None
        if change is not None:
            replay.item_changes.append(change)
        judge_action(replay, action, result, refusal, change)
        if refusal is not None and not result.ok and TOOLS[name].changes_state:
            replay.refused_records |= records_of(shop, arguments)
    return replay


def records_of(shop: EmbeddedShop, arguments: Record) -> set[tuple[str, str]]:
    """The order and customer records a change with these arguments may write."""
    records = {("orders", arguments["order_id"])} if "order_id" in arguments else set()
    owner = owner_of(shop, arguments)
    return records | ({("users", owner)} if owner is not None else set())


# the shop's net changes


def net_changes(shop: EmbeddedShop, initial: dict[str, dict[str, Record]]) -> dict[str, dict]:
    """Orders and users whose record differs from the imported shop, as frontdesk holds them now."""
    current = {
        "orders": {order_id: shop.get_order(order_id) for order_id in initial["orders"]},
        "users": {user_id: shop.get_customer(user_id) for user_id in initial["users"]},
    }
    dumped = {
        table: {
            key: None if record is None else record.model_dump(mode="json")
            for key, record in records.items()
        }
        for table, records in current.items()
    }
    return {
        table: {key: record for key, record in records.items() if record != initial[table][key]}
        for table, records in dumped.items()
    }


def judge_shop(
    reference_diff: Record, changes: dict[str, dict], replay: Replay
) -> tuple[str, Record]:
    """'exact', 'within_tolerance', 'deviation', 'refused' or 'mismatch' for a task's net changes.

    'refused': every difference is in a record that a change refused by policy would have written.
    """
    verdict, details = compare_changes(reference_diff, changes)
    if verdict != "mismatch":
        return verdict, details
    if replay.item_changes:
        quirked = {table: dict(records) for table, records in changes.items()}
        for change in replay.item_changes:
            if change.order_id in quirked["orders"]:
                order = quirked["orders"][change.order_id]
                quirked["orders"][change.order_id] = with_tau2_quirk(order, change)
        if compare_changes(reference_diff, quirked)[0] != "mismatch":
            return "deviation", {}
    if differing_records(details) <= replay.refused_records and "unexpected_in_tau2" not in details:
        return "refused", details
    return verdict, details


def differing_records(details: Record) -> set[tuple[str, str]]:
    found = {(record["table"], record["id"]) for record in details.get("records", [])}
    for table, ids in details.get("changed_ids", {}).items():
        found |= {(table, key) for key in ids["only_in_tau2"] + ids["only_in_frontdesk"]}
    return found


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

Outcome = tuple[Replay, tuple[str, Record]]  # the actions' verdicts, the shop's verdict


@dataclass(frozen=True)
class Inputs:
    tasks: list[Record]
    references: dict[str, Record]
    shop: Shop
    initial: dict[str, dict[str, Record]]  # the imported orders and users, as frontdesk dumps them


def read_inputs(data: Path) -> Inputs:
    retail = data / RETAIL
    reference = json.loads((retail / "reference_train.json").read_text("utf-8"))
    shop = read_tau_shop(retail / "db.json")
    return Inputs(
        tasks=json.loads((retail / "tasks.json").read_text("utf-8")),
        references={task["task_id"]: task for task in reference["tasks"]},
        shop=shop,
        initial={
            "orders": {order.order_id: order.model_dump(mode="json") for order in shop.orders},
            "users": {user.user_id: user.model_dump(mode="json") for user in shop.customers},
        },
    )


def gold_actions(task: Record, reference: Record) -> list[Record]:
    """The task's gold actions, each with τ²'s recorded output (same id, name and arguments)."""
    actions = []
    for gold in task["evaluation_criteria"]["actions"]:
        recorded = [
            action
            for action in reference["actions"]
            if (action["action_id"], action["name"], action["arguments"])
            == (gold["action_id"], gold["name"], gold["arguments"])
        ]
        if len(recorded) != 1:
            raise SystemExit(f"task {task['id']}: no single reference for {gold['action_id']}")
        actions.append({**gold, **{key: recorded[0][key] for key in RECORDED}})
    return actions


def replay_task(
    inputs: Inputs, task: Record, template: Path, folder: Path, sign_in: bool
) -> Outcome:
    reference = inputs.references[task["id"]]
    store = open_task_store(folder, template)
    try:
        shop = EmbeddedShop(store)
        actions = gold_actions(task, reference)
        replay = replay_actions(shop, Toolbox(shop, shop), task["id"], actions, sign_in)
        changes = net_changes(shop, inputs.initial)
    finally:
        store.engine.dispose()
        shutil.rmtree(folder)
    return replay, judge_shop(reference["db_diff"], changes, replay)


def run(data: Path) -> Record:
    started = time.perf_counter()
    inputs = read_inputs(data)
    with tempfile.TemporaryDirectory(prefix="tau2-retail-") as root:
        template = build_template(inputs.shop, Path(root) / "template")
        setup_s = time.perf_counter() - started
        as_given: dict[str, Outcome] = {}
        for task in inputs.tasks:
            folder = Path(root) / f"task-{task['id']}"
            as_given[task["id"]] = replay_task(inputs, task, template, folder, sign_in=False)
            log(f"task {task['id']}: {_progress(as_given[task['id']])}")
        signed_in: dict[str, Outcome] = {}
        for task in inputs.tasks:
            if "refused" in as_given[task["id"]][0].verdicts:
                folder = Path(root) / f"task-{task['id']}-signed-in"
                signed_in[task["id"]] = replay_task(inputs, task, template, folder, sign_in=True)
                log(f"task {task['id']} signed in: {_progress(signed_in[task['id']])}")
    latencies = [ms for replay, _ in as_given.values() for ms in replay.latencies_ms]
    return {
        "benchmark": "tau2_retail",
        "data": str(data / RETAIL),
        **summary(as_given),
        "refused_tasks_replayed_signed_in": {
            "what": (
                "the tasks with refusals again, each unauthenticated action preceded by "
                "find_user_id_by_email for the owner of its record (that call is not counted)"
            ),
            **summary(signed_in),
        },
        "toolbox_call_ms": {**percentiles(latencies), "calls": len(latencies)},
        "setup_s": round(setup_s, 2),
        "wall_time_s": round(time.perf_counter() - started, 2),
    }


def _progress(outcome: Outcome) -> str:
    replay, (shop_verdict, _) = outcome
    actions = ", ".join(f"{verdict} {len(found)}" for verdict, found in replay.verdicts.items())
    return f"actions {actions}; shop {shop_verdict}"


def summary(outcomes: dict[str, Outcome]) -> Record:
    def actions(verdict: str) -> list[Record]:
        return [
            entry for replay, _ in outcomes.values() for entry in replay.verdicts.get(verdict, [])
        ]

    def tasks_with(verdict: str) -> list[str]:
        return [task_id for task_id, (_, (found, _)) in outcomes.items() if found == verdict]

    refused = actions("refused")
    return {
        "tasks": len(outcomes),
        "actions": sum(
            len(found) for replay, _ in outcomes.values() for found in replay.verdicts.values()
        ),
        "actions_matching_exactly": len(actions("exact")),
        "actions_matching_within_tolerance": len(actions("within_tolerance")),
        "actions_deliberate_deviation": [_action_ref(entry) for entry in actions("deviation")],
        "actions_refused_by_policy": {"count": len(refused), "actions": refused},
        "actions_mismatching": actions("mismatch"),
        "tasks_db_matching": len(tasks_with("exact")) + len(tasks_with("within_tolerance")),
        "tasks_db_matching_only_within_tolerance": tasks_with("within_tolerance"),
        "tasks_db_deliberate_deviation": tasks_with("deviation"),
        "tasks_db_differing_by_refused_changes": tasks_with("refused"),
        "tasks_db_mismatching": [
            {"task_id": task_id, **details}
            for task_id, (_, (found, details)) in outcomes.items()
            if found == "mismatch"
        ],
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
