"""Handing off with everything a person needs, and learning from what the person did."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import sign_in
from frontdesk.agents.coordinator import business_deadline
from frontdesk.cli.main import app as cli
from frontdesk.config import get_settings, load_settings
from frontdesk.rules import BusinessHours
from frontdesk.server import create_app
from frontdesk.training.intent_model import read_examples
from realtime_chat import DEMO, orders_of

HOURS = BusinessHours()  # Mon–Fri 08:00–20:00 America/New_York


@pytest.mark.parametrize(
    ("start", "minutes", "deadline"),
    [
        ("2026-11-23T14:00:00+00:00", 60, "2026-11-23T15:00:00+00:00"),  # Mon 09:00 NY
        ("2026-11-23T00:30:00+00:00", 60, "2026-11-23T14:00:00+00:00"),  # Sun night → Mon 09:00
        # Mon 19:30 NY: 30 minutes before closing, 30 after Tuesday's opening
        ("2026-11-24T00:30:00+00:00", 60, "2026-11-24T13:30:00+00:00"),
        # Fri 18:00 NY: 2 hours on Friday, 2 hours on Monday morning
        ("2026-11-27T23:00:00+00:00", 240, "2026-11-30T15:00:00+00:00"),
    ],
)
def test_service_deadlines_count_business_time(start: str, minutes: int, deadline: str) -> None:
    at = datetime.fromisoformat(start)
    assert business_deadline(HOURS, at, minutes) == datetime.fromisoformat(deadline)


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(data_dir=data_dir))) as test_client:
        sign_in(test_client)
        yield test_client


def say(client: TestClient, text: str, conversation: dict | None = None) -> dict:
    """Post as the customer; `conversation` is an earlier answer of this function."""
    body, headers = {"text": text}, {}
    if conversation:
        body["conversation_id"] = conversation["accepted"]["conversation_id"]
        headers["X-Conversation-Token"] = conversation["accepted"]["conversation_token"]
    accepted = client.post("/v1/messages", json=body, headers=headers).json()
    view = client.get(
        f"/v1/conversations/{accepted['conversation_id']}",
        params={"decided": accepted["message_id"], "wait": 10},
    ).json()
    return {"accepted": accepted, "view": view}


def handoff_of(client: TestClient, message_id: str) -> dict:
    handoffs = client.get("/v1/handoffs").json()
    return next(h for h in handoffs if h["message_id"] == message_id)


def test_key_account_goes_to_a_person_with_the_prepared_case(client: TestClient) -> None:
    vip = next(c for c in DEMO.customers if c.tier == "vip" and orders_of(c))
    first = say(client, "where is my order?")
    turn = say(client, f"my email is {vip.email}", first)
    handoff = handoff_of(client, turn["accepted"]["message_id"])
    packet = handoff["packet"]
    assert handoff["tier"] == "human"
    assert "customer_tier_in:key account" in [r["rule"] for r in packet["decision"]["rules"]]
    assert packet["case"]["customer"]["user_id"] == vip.user_id
    assert {o["order_id"] for o in packet["case"]["orders"]} == set(vip.orders)
    assert packet["intent_history"][0]["label"] == "track_order"
    assert packet["sla_deadline"] is not None
    assert packet["tool_calls"][0]["name"] == "find_user_id_by_email"


def test_outcomes_are_inferred_or_given_and_validated(client: TestClient) -> None:
    ids = []
    for text in ("talk to a human", "I need a real person", "let me speak to an agent",
                 "can I get a human please"):  # fmt: skip
        ids.append(handoff_of(client, say(client, text)["accepted"]["message_id"]))
    draft = ids[0]["packet"]["draft"]["text"]
    replies = [
        {"text": draft},
        {"text": draft + " Have a nice day."},
        {"text": "Hello! Which order is it about?"},
        {
            "text": "Sure.",
            "outcome": "wrong_intent",
            "correct_intent": "track_order",
        },
    ]
    for handoff, body in zip(ids, replies, strict=True):
        assert client.post(f"/v1/handoffs/{handoff['id']}/reply", json=body).status_code == 201
    resolved = {
        h["id"]: h for h in client.get("/v1/handoffs", params={"status": "resolved"}).json()
    }
    assert [resolved[h["id"]]["outcome"] for h in ids] == [
        "sent_as_drafted", "edited", "rewritten", "wrong_intent"
    ]  # fmt: skip
    assert all(resolved[h["id"]]["handle_seconds"] >= 0 for h in ids)
    bad = say(client, "get me a human")["accepted"]["message_id"]
    refused = client.post(
        f"/v1/handoffs/{handoff_of(client, bad)['id']}/reply",
        json={"text": "x", "outcome": "wrong_intent"},
    )
    assert refused.status_code == 422


def test_escalating_further(client: TestClient) -> None:
    handoff = handoff_of(client, say(client, "talk to a human")["accepted"]["message_id"])
    moved = client.post(f"/v1/handoffs/{handoff['id']}/escalate", json={"note": "legal"})
    assert moved.status_code == 200
    assert (moved.json()["tier"], moved.json()["escalations"]) == ("specialist", 1)
    again = client.post(f"/v1/handoffs/{handoff['id']}/escalate", json={})
    assert again.status_code == 409
    assert [h["id"] for h in client.get("/v1/handoffs", params={"tier": "specialist"}).json()] == [
        handoff["id"]
    ]


def test_metrics_for_a_window(client: TestClient) -> None:
    say(client, "how long does a refund take?")
    asked = say(client, "talk to a human")
    handoff = handoff_of(client, asked["accepted"]["message_id"])
    client.post(f"/v1/handoffs/{handoff['id']}/reply", json={"text": "Hi!"})
    say(client, "thanks, one more question about returns", asked)
    report = client.get("/v1/metrics").json()
    assert report["messages"] == 3
    assert sum(tier["messages"] for tier in report["tiers"].values()) == 3
    assert report["handoffs"]["human"] >= 1
    assert report["resolved_handoffs"] == 1
    assert report["reopen_rate"] == 1.0
    assert report["automatic_resolution_rate"] == 0.5
    assert report["handle_seconds_median"] is not None
    early = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    empty = client.get("/v1/metrics", params={"until": early}).json()
    assert empty["messages"] == 0 and empty["reopen_rate"] is None
    assert client.get("/v1/metrics", params={"since": "2026-01-01T00:00:00"}).status_code == 422


def test_export_training_then_train(client: TestClient, data_dir: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for text, body in [
        ("talk to a human", {"outcome": "wrong_intent", "correct_intent": "track_order"}),
        ("I need a real person", {}),
    ]:
        handoff = handoff_of(client, say(client, text)["accepted"]["message_id"])
        draft = handoff["packet"]["draft"]["text"]
        reply = {"text": draft if not body else "ok", **body}
        client.post(f"/v1/handoffs/{handoff['id']}/reply", json=reply)
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    out = tmp_path / "retrain.csv"
    result = CliRunner().invoke(cli, ["export-training", "--out", str(out), "--since", "1h"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert [(r["text"], r["intent"], r["outcome"]) for r in rows] == [
        ("talk to a human", "track_order", "wrong_intent"),
        ("I need a real person", "contact_human", "sent_as_drafted"),
    ]
    assert [e.intent for e in read_examples(out)] == ["track_order", "contact_human"]


def test_route_explain(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["route", "--explain", "I will sue you over my $900 order"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "tier specialist" in result.output
    assert "text_matches:legal threat" in result.output
    assert "amount_over:large amount: 900.00 at stake" in result.output
    assert "inputs {'matched': 'sue'}" in result.output
