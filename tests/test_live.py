"""Live events to open chats: the feed (in-process and Redis) and the customer's event stream."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from conftest import REDIS_URL
from frontdesk.channels.live import LiveFeed, LocalLiveFeed, RedisLiveFeed
from frontdesk.config import load_settings
from frontdesk.server import create_app


def receive_one(feed: LiveFeed, conversation_id: str, publish, subscribed=lambda: True) -> dict:
    """Subscribe, then let another thread publish, as a worker thread would, once `subscribed()`
    says the subscription is in place (a bounded look at a condition, not a timed pause)."""

    def publish_when_subscribed() -> None:
        for _ in range(2000):
            if subscribed():
                break
            time.sleep(0.005)
        publish()

    publisher = threading.Thread(target=publish_when_subscribed)

    async def watch() -> dict:
        async with feed.subscribe(conversation_id) as events:
            publisher.start()
            return await asyncio.wait_for(anext(events), timeout=30)

    try:
        return asyncio.run(watch())
    finally:
        publisher.join(timeout=30)  # done publishing before the caller closes the feeds


def test_local_feed_delivers_to_watchers_of_that_conversation_only() -> None:
    feed = LocalLiveFeed()

    def publish() -> None:
        feed.publish("other", {"text": "not for you"})
        feed.publish("c1", {"text": "Hello"})

    assert receive_one(feed, "c1", publish) == {"text": "Hello"}
    feed.publish("c1", {"text": "nobody watches: dropped, no error"})


@pytest.mark.redis
def test_redis_feed_crosses_processes(redis_queue_name: str) -> None:
    watcher_side = RedisLiveFeed(REDIS_URL, redis_queue_name)
    worker_side = RedisLiveFeed(REDIS_URL, redis_queue_name)
    neighbour = RedisLiveFeed(REDIS_URL, "another-deployment")

    def publish() -> None:
        neighbour.publish("c1", {"text": "wrong deployment"})
        worker_side.publish("c1", {"text": "Hello"})

    observer = redis.Redis.from_url(REDIS_URL)

    def subscribed() -> bool:
        [(_, watchers)] = observer.pubsub_numsub(f"{redis_queue_name}:live:c1")
        return watchers > 0

    try:
        assert receive_one(watcher_side, "c1", publish, subscribed) == {"text": "Hello"}
    finally:
        for feed in (watcher_side, worker_side, neighbour):
            feed.close()
        observer.close()


def test_unreachable_redis_never_stalls_the_publisher() -> None:
    # A worker publishing partial text must not fail a turn because Redis is gone: the event is
    # dropped and publishing returns (a Redis that hangs instead is cut off by the feed's
    # socket timeout).
    feed = RedisLiveFeed("redis://127.0.0.1:1/0", "nowhere")
    feed.publish("c1", {"text": "lost, on purpose"})
    feed.publish("c1", {"text": "and again, still no error"})
    feed.close()


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    settings = load_settings(data_dir=data_dir, worker={"enabled": False})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def events_of(response) -> Iterator[tuple[str, dict]]:
    name = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))


def test_event_stream_shows_the_conversation_and_the_answer_being_written(
    client: TestClient,
) -> None:
    started = client.post("/v1/messages", json={"text": "do you ship to Norway?"}).json()
    conversation = started["conversation_id"]
    url = f"/v1/conversations/{conversation}/events"
    assert client.get(url).status_code == 403
    wrong = {"X-Conversation-Token": "0" * 40}
    assert client.get(url, headers=wrong).status_code == 403

    draft = {"message_id": started["message_id"], "text": "Yes, we ship to Norway"}
    token = {"X-Conversation-Token": started["conversation_token"]}
    with client.stream("GET", url, headers=token) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = events_of(response)
        first, view = next(events)
        # The stream subscribes before it sends the conversation, so a draft published now,
        # from another thread as a worker would, reaches it.
        publish = threading.Thread(
            target=client.app.state.services.live.publish, args=(conversation, draft)
        )
        publish.start()
        second, partial = next(events)
    assert first == "conversation"
    assert [message["text"] for message in view["messages"]] == ["do you ship to Norway?"]
    assert (second, partial) == ("draft", draft)


class WritingAnswerer:
    """Writes its answer in two steps, as a streaming model would."""

    def answer(self, question, passages, on_text=None):
        from frontdesk.contracts import GroundedAnswer

        if on_text is not None:
            on_text("Unused items can be returned.")
            on_text("Unused items can be returned. Refunds take 5 days.")
        return GroundedAnswer(
            text="Unused items can be returned. Refunds take 5 days.",
            citations=[passages[0].chunk_id],
            agent="response-agent/llm-1 (fake)",
        )


def test_answer_being_written_reaches_the_live_feed(data_dir: Path) -> None:
    from frontdesk.runtime.services import build_services

    settings = load_settings(data_dir=data_dir, knowledge={"dense": "off"})
    services = build_services(settings)
    try:
        agent = services.pipeline.response_agent
        agent.answerer = WritingAnswerer()
        published: list[tuple[str, dict]] = []
        services.live.publish = lambda conversation, event: published.append((conversation, event))
        message_id = services.intake.accept("do you ship to Norway?", "web").message.id
        services.pipeline.process([message_id])
    finally:
        services.close()
    texts = [event["text"] for _, event in published]
    assert texts[-1] == "Unused items can be returned. Refunds take 5 days."
    assert all(event["message_id"] == message_id for _, event in published)
