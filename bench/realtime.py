"""Latency of real-time turns (account requests answered with tools) through the HTTP API.

Embedded defaults, the generated demo shop, no LLM. Each conversation is three turns handled by
the real-time agent: "where is my order?" → the customer's email → the order number. Per turn:
  http_accept       POST /v1/messages until 202 (client clock)
  received_to_reply the message's arrival to its stored reply (server timestamps)
  client_turn       POST, then GET with a long poll until the decision (client clock)
Figures are medians over --repeats runs of --conversations conversations. The customer's view the
API gives has no decisions, so the agent and tier of each turn are read from the store.

    .venv/bin/python bench/realtime.py [--conversations 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

from pipeline import median_of, percentiles

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from frontdesk.commerce.demo_shop import generate_shop
from frontdesk.store.database import create_store_engine
from frontdesk.store.repository import Store
from server import ServerProcess


def scripts(count: int) -> list[list[str]]:
    shop = generate_shop()
    by_user = {customer.user_id: customer for customer in shop.customers}
    return [
        ["where is my order?", f"my email is {by_user[order.user_id].email}", order.order_id]
        for order in shop.orders[:count]
    ]


def turn(
    client: httpx.Client, conversation: tuple[str, str] | None, text: str
) -> tuple[tuple[str, str], dict, float, float]:
    body: dict[str, str] = {"text": text}
    headers = {}
    if conversation:
        conversation, token = conversation
        body["conversation_id"] = conversation
        headers["X-Conversation-Token"] = token
    started = time.perf_counter()
    accepted = client.post("/v1/messages", json=body, headers=headers).json()
    accept_ms = (time.perf_counter() - started) * 1000
    view = client.get(
        f"/v1/conversations/{accepted['conversation_id']}",
        params={"decided": accepted["message_id"], "wait": 10},
        headers={"X-Conversation-Token": accepted["conversation_token"]},
    ).json()
    turn_ms = (time.perf_counter() - started) * 1000
    return (
        (accepted["conversation_id"], accepted["conversation_token"]),
        {"message_id": accepted["message_id"], "view": view},
        accept_ms,
        turn_ms,
    )


def run(url: str, store: Store, conversations: list[list[str]]) -> dict[str, object]:
    accept, client_turn, server_turn, agents, tiers = [], [], [], {}, {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for script in conversations:
            conversation = None
            for text in script:
                conversation, seen, accept_ms, turn_ms = turn(client, conversation, text)
                accept.append(accept_ms)
                client_turn.append(turn_ms)
                view, message_id = seen["view"], seen["message_id"]
                decision = next(
                    d
                    for d in store.conversation(view["id"]).decisions
                    if d.message_id == message_id
                )
                message = next(m for m in view["messages"] if m["id"] == message_id)
                agent = decision.draft.agent
                agents[agent] = agents.get(agent, 0) + 1
                tier = decision.decision.tier
                tiers[tier] = tiers.get(tier, 0) + 1
                reply = next((r for r in view["replies"] if r["in_reply_to"] == message_id), None)
                if reply is not None:
                    server_turn.append(_ms_between(message["received_at"], reply["created_at"]))
    return {
        "http_accept": percentiles(accept),
        "received_to_reply": percentiles(server_turn),
        "client_turn": percentiles(client_turn),
        "agents": agents,
        "tiers": tiers,
    }


def _ms_between(earlier: str, later: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds() * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    conversations = scripts(args.conversations)
    runs = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            server = ServerProcess({"FRONTDESK_DATA_DIR": f"{folder}/data"}, Path(folder) / "log")
            server.start()
            store = Store(create_store_engine(f"sqlite:///{folder}/data/frontdesk.db"))
            try:
                runs.append(run(server.url, store, conversations))
            finally:
                store.engine.dispose()
                server.stop()
    result = {
        "benchmark": "realtime",
        "config": "embedded defaults, generated demo shop, rule-based real-time agent, no LLM",
        "turns_per_run": sum(len(script) for script in conversations),
        "repeats": args.repeats,
        "ms": {
            key: median_of([run[key] for run in runs])
            for key in ("http_accept", "received_to_reply", "client_turn")
        },
        "agents_last_run": runs[-1]["agents"],
        "tiers_last_run": runs[-1]["tiers"],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
