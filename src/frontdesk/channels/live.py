"""Live events for open chat windows: partial answers while the bot is still writing them.

Stored replies are the truth and are read from the store; this feed only carries what is not
stored (a reply being written). Losing an event costs a customer the typing effect, never a reply,
so the feed can be at-most-once: in-process by default, Redis pub/sub when workers run elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from types import TracebackType
from typing import Any, Protocol

import redis
import redis.asyncio

from frontdesk.config import Settings

BUFFERED_EVENTS = 256


class LiveFeed(Protocol):
    def publish(self, conversation_id: str, event: dict[str, Any]) -> None:
        """Send an event to whoever watches the conversation now; never blocks for long."""
        ...

    def subscribe(self, conversation_id: str) -> Subscription: ...

    def close(self) -> None: ...


class Subscription(Protocol):
    async def __aenter__(self) -> AsyncIterator[dict[str, Any]]: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None: ...


class LocalLiveFeed:
    """Watchers in this process: the embedded default, where `serve` runs the worker too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watchers: dict[
            str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]
        ] = defaultdict(set)

    def publish(self, conversation_id: str, event: dict[str, Any]) -> None:
        with self._lock:
            watchers = list(self._watchers.get(conversation_id, ()))
        for loop, queue in watchers:
            with suppress(RuntimeError):  # the watcher's loop has closed
                loop.call_soon_threadsafe(_offer, queue, event)

    def subscribe(self, conversation_id: str) -> Subscription:
        return self._subscription(conversation_id)

    @asynccontextmanager
    async def _subscription(
        self, conversation_id: str
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(BUFFERED_EVENTS)
        watcher = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._watchers[conversation_id].add(watcher)
        try:
            yield _drain(queue)
        finally:
            with self._lock:
                self._watchers[conversation_id].discard(watcher)
                if not self._watchers[conversation_id]:
                    del self._watchers[conversation_id]

    def close(self) -> None:
        with self._lock:
            self._watchers.clear()


class RedisLiveFeed:
    """Watchers anywhere: workers publish to a Redis channel per conversation."""

    def __init__(self, url: str, namespace: str) -> None:
        self.url = url
        self.prefix = f"{namespace}:live:"  # deployments sharing one Redis stay apart
        self._client = redis.Redis.from_url(url, socket_timeout=2)

    def publish(self, conversation_id: str, event: dict[str, Any]) -> None:
        # A lost typing effect is fine; a worker stalled on Redis is not.
        with suppress(redis.RedisError):
            self._client.publish(self.prefix + conversation_id, json.dumps(event))

    def subscribe(self, conversation_id: str) -> Subscription:
        return self._subscription(conversation_id)

    @asynccontextmanager
    async def _subscription(
        self, conversation_id: str
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        client = redis.asyncio.Redis.from_url(self.url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.prefix + conversation_id)
        try:
            yield _messages(pubsub)
        finally:
            await pubsub.aclose()
            await client.aclose()

    def close(self) -> None:
        self._client.close()


def open_live_feed(settings: Settings) -> LiveFeed:
    """Redis when the queue is Redis (workers may be other processes), else in-process."""
    if settings.queue.backend == "redis":
        return RedisLiveFeed(settings.queue.redis_url, settings.queue.name)
    return LocalLiveFeed()


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    with suppress(asyncio.QueueFull):  # a stalled reader drops partial text, not replies
        queue.put_nowait(event)


async def _drain(queue: asyncio.Queue[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield await queue.get()


async def _messages(pubsub: redis.asyncio.client.PubSub) -> AsyncIterator[dict[str, Any]]:
    async for message in pubsub.listen():
        if message.get("type") == "message":
            yield json.loads(message["data"])
