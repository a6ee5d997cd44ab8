"""Customers writing to a scaled-out frontdesk while its parts fail: workers SIGKILLed at random
moments, Redis and PostgreSQL restarted, then a burst at ten times the steady rate. Used by
`bench/faults.py` (10,000 messages) and `tests/test_faults.py` (a few hundred, in CI).

Every message is a distinct text sent once: single messages open a conversation each, and
real-time conversations sign a demo customer in and confirm a cancellation or a return, four
turns each, every turn sent once the one before is decided, as a customer in the chat does. A
client retries a failed post with the same Idempotency-Key until it is accepted.

Afterwards the store is checked: every message accepted is processed (none lost), has one
decision and at most one reply, and each side effect of a tool was applied once.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from fault_cluster import Cluster
from frontdesk.evaluation.dataset import load_items
from frontdesk.store.database import create_store_engine
from frontdesk.store.intake import idempotency_scope
from frontdesk.store.repository import Store
from frontdesk.store.tables import (
    AuditRow,
    DecisionRow,
    HandoffRow,
    MessageRow,
    ReplyRow,
    ShopOrderRow,
    ToolEffectRow,
)
from realtime_chat import DEMO, orders_of

TURNS_PER_CONVERSATION = 4
SEED = 16


@dataclass
class Plan:
    messages: int
    workers: int = 3
    rate: float = 10.0  # steady messages per second
    burst_share: float = 0.2  # of the single messages, sent at burst_factor × rate at the end
    burst_factor: float = 10.0
    kills: int = 3
    conversations: int = 20
    redis_down_seconds: float = 3.0
    postgres_down_seconds: float = 3.0
    lease_seconds: float = 10.0
    batch_size: int = 16
    posters: int = 16
    data: Path | None = None
    seed: int = SEED


def distinct_texts(data: Path | None) -> tuple[list[str], str]:
    """Texts in a fixed shuffled order, each once: CLINC150's when `data` holds it, else the
    turns of the project's evaluation set."""
    clinc = data / "clinc150" / "data_full.json" if data else None
    if clinc is not None and clinc.is_file():
        rows = json.loads(clinc.read_text(encoding="utf-8"))
        texts = [text for split in rows.values() for text, _label in split]
        source = "clinc150 data_full.json (all splits)"
    else:
        texts = [turn for item in load_items() for turn in item.turns]
        source = "the project's evaluation set (every turn)"
    unique = list(dict.fromkeys(text.strip() for text in texts if text.strip()))
    random.Random(SEED).shuffle(unique)
    return unique, source


@dataclass
class Conversation:
    kind: str  # "cancel" or "return"
    order_id: str
    turns: list[str]


def conversations(count: int, rng: random.Random) -> list[Conversation]:
    """Cancellations of pending orders and returns of one-item delivered orders, each order once
    (standard customers, at most 250: larger sums go to a person by rule)."""
    cancels, returns = [], []
    for customer in DEMO.customers:
        if customer.tier != "standard":
            continue
        for order in orders_of(customer):
            if sum(item.price for item in order.items) > 250:
                continue
            email = f"my email is {customer.email}"
            if order.status == "pending":
                opening = rng.choice(
                    ["I want to cancel my order", "please cancel my order", "cancel an order"]
                )
                turns = [opening, email, f"{order.order_id}, ordered by mistake", "yes"]
                cancels.append(Conversation("cancel", order.order_id, turns))
            elif order.status == "delivered" and len(order.items) == 1:
                opening = rng.choice(["I want to return an item", "I'd like to return something"])
                returns.append(
                    Conversation("return", order.order_id, [opening, email, order.order_id, "yes"])
                )
    chosen = [c for pair in zip(cancels, returns, strict=False) for c in pair]
    if count > len(chosen):
        raise SystemExit(f"the demo shop has orders for {len(chosen)} conversations, not {count}")
    return chosen[:count]


@dataclass
class Posted:
    key: str
    text: str
    conversation_id: str | None
    message_id: str | None = None  # None: stored by an attempt whose answer was lost (409)
    accepted_at: float = 0.0


class Client:
    """Posts with retries: the same Idempotency-Key until the intake accepts the message."""

    def __init__(self, url: str, bound: float = 600) -> None:
        self.http = httpx.Client(base_url=url, timeout=10)
        self.bound = bound
        self.failures = Counter[str]()
        self.lock = threading.Lock()

    def post(
        self, text: str, conversation: tuple[str, str] | None = None
    ) -> tuple[Posted, str | None]:
        key = uuid.uuid4().hex
        headers = {"Idempotency-Key": key}
        if conversation is not None:
            headers["X-Conversation-Token"] = conversation[1]
        path = f"/v1/conversations/{conversation[0]}/messages" if conversation else "/v1/messages"
        posted = Posted(key, text, conversation[0] if conversation else None)
        deadline = time.monotonic() + self.bound
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            try:
                response = self.http.post(path, json={"text": text}, headers=headers)
            except httpx.HTTPError as exc:
                self._failed(type(exc).__name__)
            else:
                if response.status_code == 202:
                    body = response.json()
                    posted.message_id = body["message_id"]
                    posted.conversation_id = body["conversation_id"]
                    posted.accepted_at = time.monotonic()
                    return posted, body.get("conversation_token")
                if response.status_code == 409 and conversation is None and attempt > 1:
                    # An earlier attempt stored it; its answer (and the token) was lost.
                    self._failed("409 after a lost answer")
                    posted.accepted_at = time.monotonic()
                    return posted, None
                self._failed(str(response.status_code))
            time.sleep(min(1.0, 0.1 * attempt))
        raise TimeoutError(f"not accepted within {self.bound} s: {text!r}")

    def _failed(self, why: str) -> None:
        with self.lock:
            self.failures[why] += 1


@dataclass
class Recorder:
    """What the clients and the monitors saw, with monotonic times."""

    posted: list[Posted] = field(default_factory=list)
    depth: list[tuple[float, int]] = field(default_factory=list)
    readiness: list[tuple[float, bool]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    abandoned: list[Conversation] = field(default_factory=list)
    completed: list[Conversation] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, posted: Posted) -> None:
        with self.lock:
            self.posted.append(posted)


class Decided:
    """Which messages have a decision: the store polled for the ones someone waits on."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.waiting: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def wait(self, message_id: str, bound: float = 600) -> bool:
        event = threading.Event()
        with self.lock:
            self.waiting[message_id] = event
        return event.wait(bound)

    def poll(self) -> None:
        with self.lock:
            wanted = list(self.waiting)
        if not wanted:
            return
        try:
            with self.store.session() as session:
                found = set(
                    session.scalars(
                        select(DecisionRow.message_id).where(DecisionRow.message_id.in_(wanted))
                    )
                )
        except Exception:  # the store is down: ask again later
            return
        with self.lock:
            for message_id in found:
                self.waiting.pop(message_id).set()


def processed_count(store: Store, ids: list[str]) -> int:
    done = 0
    with store.session() as session:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            done += (
                session.scalar(
                    select(func.count())
                    .select_from(MessageRow)
                    .where(MessageRow.id.in_(chunk), MessageRow.state.in_(("processed", "dead")))
                )
                or 0
            )
    return done


def wait_processed(
    store: Store, ids: list[str], cluster: Cluster, bound: float = 900, stall: float = 300
) -> float:
    """Monotonic time when all of `ids` are processed (or dead-lettered). Fails at once when a
    process of the cluster died on its own, and when none of `ids` got processed for `stall`
    seconds (retries wait at most a minute, leases and the sweep seconds): a hang says what
    each process was doing instead of waiting out `bound`."""
    started = time.monotonic()
    deadline, done, progressed = started + bound, -1, started
    while time.monotonic() < deadline:
        cluster.check_alive()
        try:
            count = processed_count(store, ids)
        except Exception:  # the store is restarting
            count = done
        if count >= len(ids):
            return time.monotonic()
        if count > done:
            done, progressed = count, time.monotonic()
        elif time.monotonic() - progressed > stall:
            break
        time.sleep(0.2)
    raise TimeoutError(
        f"{len(ids) - max(0, done)} of {len(ids)} messages not processed after "
        f"{time.monotonic() - started:.0f} s, none for the last "
        f"{time.monotonic() - progressed:.0f} s\n{cluster.report()}"
    )


class Scenario:
    def __init__(self, plan: Plan, cluster: Cluster) -> None:
        self.plan = plan
        self.cluster = cluster
        self.rng = random.Random(plan.seed)
        self.record = Recorder()
        self.stopping = threading.Event()
        self.singles_posted = 0
        self.progress = threading.Condition()
        texts, self.text_source = distinct_texts(plan.data)
        self.chats = conversations(plan.conversations, self.rng)
        singles = plan.messages - TURNS_PER_CONVERSATION * len(self.chats)
        if singles > len(texts):
            raise SystemExit(
                f"{self.text_source} holds {len(texts)} distinct texts, this run needs {singles}: "
                "give --data with CLINC150 or fewer --messages"
            )
        self.texts = texts[:singles]
        self.steady = round(singles * (1 - plan.burst_share))

    # the monitors

    def _monitor(self, every: float, look: Any) -> threading.Thread:
        def loop() -> None:
            while not self.stopping.is_set():
                look()
                self.stopping.wait(every)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def _look_at_depth(self) -> None:
        with contextlib.suppress(Exception):  # Redis is down
            self.record.depth.append((time.monotonic(), self.cluster.queue_depth()))

    def _look_at_readiness(self) -> None:
        self.record.readiness.append((time.monotonic(), self.cluster.ready()))

    # the customers

    def _post_single(self, client: Client, text: str) -> None:
        posted, _token = client.post(text)
        self.record.add(posted)
        with self.progress:
            self.singles_posted += 1
            self.progress.notify_all()

    def _converse(self, client: Client, decided: Decided, chat: Conversation, start: float) -> None:
        time.sleep(max(0.0, start - time.monotonic()))
        conversation: tuple[str, str] | None = None
        for text in chat.turns:
            posted, token = client.post(text, conversation)
            self.record.add(posted)
            if posted.message_id is None or (conversation is None and token is None):
                self.record.abandoned.append(chat)  # the token went with the lost answer
                return
            if conversation is None:
                assert posted.conversation_id is not None and token is not None
                conversation = (posted.conversation_id, token)
            if not decided.wait(posted.message_id):
                self.record.abandoned.append(chat)
                return
            time.sleep(0.2)  # the customer reads the reply
        self.record.completed.append(chat)

    def _post_at(
        self, pool: ThreadPoolExecutor, client: Client, texts: list[str], rate: float
    ) -> float:
        started = time.monotonic()
        futures = []
        for i, text in enumerate(texts):
            time.sleep(max(0.0, started + i / rate - time.monotonic()))
            futures.append(pool.submit(self._post_single, client, text))
        for future in futures:
            future.result()
        return started

    # the faults

    def _wait_progress(self, fraction: float) -> None:
        with self.progress:
            self.progress.wait_for(lambda: self.singles_posted >= fraction * self.steady)

    def _accepted_ids(self) -> list[str]:
        with self.record.lock:
            return [p.message_id for p in self.record.posted if p.message_id is not None]

    def _kill(self, _what: str, store: Store, done: threading.Event) -> dict[str, Any]:
        """SIGKILL a random worker that holds claimed messages (one that holds none is let go
        and another picked a moment later; after 50 tries the last is killed anyway)."""
        for _ in range(50):
            index = self.rng.randrange(len(self.cluster.workers))
            worker = self.cluster.workers[index]
            name = self.cluster.worker_name(worker)
            worker.pause()  # frozen, so what it holds can be read before it dies holding it
            try:
                held = self.cluster.pending_of(name)
            except Exception:  # Redis is restarting: never leave a worker frozen
                worker.resume()
                raise
            if held:
                break
            worker.resume()
            time.sleep(self.rng.uniform(0.05, 0.3))
        killed_at = time.monotonic()
        self.cluster.kill_worker(index)
        done.set()
        recovered = wait_processed(store, held, self.cluster) if held else killed_at
        return {
            "fault": "worker SIGKILL",
            "worker": name,
            "messages_held": len(held),
            "held_processed_after_s": round(recovered - killed_at, 2),
        }

    def _readiness_around(self, down: float, up: float) -> tuple[bool, float | None]:
        seen_false = any(not ok for at, ok in self.record.readiness if down <= at <= up + 1)
        back = next((at for at, ok in self.record.readiness if at > up and ok), None)
        return seen_false, None if back is None else round(back - up, 2)

    def _restart(self, which: str, store: Store, done: threading.Event) -> dict[str, Any]:
        before = self._accepted_ids()
        if which == "redis":
            down, up = self.cluster.restart_redis(self.plan.redis_down_seconds)
        else:
            down, up = self.cluster.restart_postgres(self.plan.postgres_down_seconds)
        done.set()
        drained = wait_processed(store, before, self.cluster)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            ok for at, ok in self.record.readiness if at > up
        ):
            time.sleep(0.1)
        seen_false, ready_after = self._readiness_around(down, up)
        return {
            "fault": f"{which} restarted",
            "down_s": round(up - down, 2),
            "readiness_false_while_down": seen_false,
            "ready_again_after_s": ready_after,
            "accepted_before": len(before),
            "backlog_drained_after_s": round(drained - up, 2),
        }

    def _faults(self, store: Store) -> None:
        plan, rng = self.plan, self.rng
        events = [(0.3, "redis"), (0.6, "postgres")]
        while len(events) < 2 + plan.kills:
            moment = rng.uniform(0.05, 0.9)
            if all(abs(moment - at) > 0.05 for at, _ in events):
                events.append((moment, "kill"))
        measuring = []
        for fraction, what in sorted(events):
            self._wait_progress(fraction)
            at = round(self.singles_posted / max(1, self.steady), 3)
            # The fault happens now; its recovery is measured while the next ones come.
            done = threading.Event()
            measuring.append(
                threading.Thread(target=self._fault, args=(what, at, store, done), daemon=True)
            )
            measuring[-1].start()
            done.wait()
        for thread in measuring:
            thread.join()

    def _fault(self, what: str, at: float, store: Store, done: threading.Event) -> None:
        measure = self._kill if what == "kill" else self._restart
        try:
            event = measure(what, store, done)
        except Exception as exc:  # recorded: the run goes on, and the checks still count
            event = {"fault": what, "error": f"{type(exc).__name__}: {exc}"}
        done.set()
        with self.record.lock:
            self.record.events.append({"at_steady_fraction": at, **event})

    # the whole run

    def run(self) -> dict[str, Any]:
        plan = self.plan
        store = Store(create_store_engine(self.cluster.store_url))
        decided = Decided(store)
        client = Client(self.cluster.url)
        monitors = [
            self._monitor(0.25, self._look_at_depth),
            self._monitor(0.2, self._look_at_readiness),
            self._monitor(0.2, decided.poll),
        ]
        steady_seconds = self.steady / plan.rate
        started = time.monotonic()
        with (
            ThreadPoolExecutor(plan.posters) as pool,
            ThreadPoolExecutor(max(1, len(self.chats))) as chats,
        ):
            talks = [
                chats.submit(
                    self._converse,
                    client,
                    decided,
                    chat,
                    started + self.rng.uniform(0, 0.8 * steady_seconds),
                )
                for chat in self.chats
            ]
            faults = threading.Thread(target=self._faults, args=(store,), daemon=True)
            faults.start()
            self._post_at(pool, client, self.texts[: self.steady], plan.rate)
            faults.join()
            for talk in talks:
                talk.result()
            before_burst = self._accepted_ids()
            wait_processed(store, before_burst, self.cluster)
            burst_texts = self.texts[self.steady :]
            burst_started = self._post_at(pool, client, burst_texts, plan.rate * plan.burst_factor)
        burst_posted = time.monotonic()
        drained = wait_processed(store, self._accepted_ids(), self.cluster)
        self.stopping.set()
        for monitor in monitors:
            monitor.join()
        burst_depths = [d for at, d in self.record.depth if burst_started <= at <= drained]
        steady_depths = [d for at, d in self.record.depth if at < burst_started]
        result = {
            "texts": {
                "source": self.text_source,
                "singles": len(self.texts),
                "each_sent_once": True,
            },
            "steady_rate_per_s": plan.rate,
            "faults": sorted(self.record.events, key=lambda e: e["at_steady_fraction"]),
            "burst": {
                "messages": len(burst_texts),
                "offered_rate_per_s": plan.rate * plan.burst_factor,
                "accepted_rate_per_s": round(len(burst_texts) / (burst_posted - burst_started), 1),
                "peak_queue_depth": max(burst_depths, default=0),
                "steady_peak_queue_depth": max(steady_depths, default=0),
                "drained_after_s_from_first_post": round(drained - burst_started, 2),
                "drained_after_s_from_last_post": round(drained - burst_posted, 2),
            },
            "wall_seconds": round(time.monotonic() - started, 1),
            "client_retries": dict(client.failures),
            "checks": self.check(store),
            "sweeps_requeued": self.cluster.requeued_by_sweeps(),
        }
        store.engine.dispose()
        return result

    def check(self, store: Store) -> dict[str, Any]:
        """What the store holds against what the customers sent."""
        posted = self.record.posted
        keys = {
            idempotency_scope(p.key, p.conversation_id if p.message_id is None else None, p.text)
            for p in posted
            if p.message_id is None
        }
        known = {p.message_id for p in posted if p.message_id is not None}
        with store.session() as session:
            if keys:
                known |= set(
                    session.scalars(
                        select(MessageRow.id).where(MessageRow.idempotency_key.in_(keys))
                    )
                )
            states = dict(session.execute(select(MessageRow.id, MessageRow.state)).all())
            decisions = Counter(session.scalars(select(DecisionRow.message_id)))
            replies = Counter(session.scalars(select(ReplyRow.message_id)))
            handoffs = Counter(session.scalars(select(HandoffRow.message_id)))
            sent = Counter(
                session.scalars(
                    select(AuditRow.data["message_id"].as_string()).where(
                        AuditRow.action == "reply.sent"
                    )
                )
            )
            effects = session.execute(select(ToolEffectRow.tool, ToolEffectRow.result)).all()
            orders = {
                row.order_id: row.data
                for row in session.scalars(
                    select(ShopOrderRow).where(
                        ShopOrderRow.order_id.in_([c.order_id for c in self.chats])
                    )
                )
            }
        applied = Counter(
            (tool, result.get("order_id"))
            for tool, result in effects
            if tool in ("cancel_pending_order", "return_delivered_order_items")
        )
        twice = sum(1 for n in applied.values() if n > 1)
        refunds_doubled = sum(
            1
            for data in orders.values()
            if data["status"] == "cancelled"
            and sum(p["transaction_type"] == "refund" for p in data["payment_history"])
            > sum(p["transaction_type"] == "payment" for p in data["payment_history"])
        )
        done = {"cancel": "cancelled", "return": "return requested"}
        effects_applied = sum(
            1 for chat in self.chats if orders[chat.order_id]["status"] == done[chat.kind]
        )
        not_processed = [m for m in known if states.get(m) not in ("processed", "dead")]
        return {
            "messages_accepted": len(known),
            "messages_posted": len(posted),
            "messages_in_store": len(states),
            "lost": len(not_processed),
            "dead_lettered": sum(1 for m in known if states.get(m) == "dead"),
            "dead_letters_in_queue": self.cluster.dead_letters(),
            "without_decision": sum(
                1 for m in known if decisions[m] == 0 and states.get(m) != "dead"
            ),
            "duplicate_decisions": sum(1 for n in decisions.values() if n > 1),
            "duplicate_replies": sum(1 for n in replies.values() if n > 1)
            + sum(1 for n in sent.values() if n > 1),
            "replied_and_handed_off": len(set(replies) & set(handoffs)),
            "unknown_messages_in_store": len(set(states) - known),
            "conversations": len(self.chats),
            "conversations_completed": len(self.record.completed),
            "conversations_abandoned_by_client": len(self.record.abandoned),
            "side_effects_expected": len(self.record.completed),
            "side_effects_applied": effects_applied,
            "duplicate_side_effects": twice + refunds_doubled,
        }
