"""How much one client may ask (docs/security.md#limits): staff sign-ins per account and per
address, and customer messages per conversation and per address, refused with 429 and
`Retry-After`.

Message rates are moving windows of one minute from the `limits` library, kept in Redis when the
queue is on Redis (so every server process counts together) and in the process otherwise. Failed
sign-ins are counted in the store (`store/sign_in.py`), where `frontdesk users unlock` reaches
them too.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import timedelta

import structlog
from fastapi import HTTPException, Request, status
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from frontdesk.config import Settings
from frontdesk.runtime.services import Services
from frontdesk.store.sign_in import SignInLimits, policy_of
from frontdesk.store.staff import StaffUser, authenticate

log = structlog.get_logger(__name__)

_creating = threading.Lock()


def client_address(request: Request) -> str:
    """The client's address as the server sees it (uvicorn takes it from X-Forwarded-For only
    when the proxy is one of its `forwarded_allow_ips`, by default 127.0.0.1)."""
    return request.client.host if request.client else "unknown"


def retry_after(wait: timedelta | float) -> str:
    """Whole seconds, at least 1, as the Retry-After header wants them."""
    seconds = wait.total_seconds() if isinstance(wait, timedelta) else wait
    return str(max(1, math.ceil(seconds)))


class TooManyRequests(HTTPException):
    def __init__(self, detail: str, wait: timedelta | float) -> None:
        seconds = retry_after(wait)
        super().__init__(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"{detail}; try again in {seconds} s",
            headers={"Retry-After": seconds},
        )
        self.retry_after = int(seconds)


# messages


class MessageRates:
    """Messages per conversation and per client address in any minute."""

    def __init__(self, settings: Settings) -> None:
        queue = settings.queue
        storage: Storage
        if queue.backend == "redis":
            storage = RedisStorage(queue.redis_url, key_prefix=f"{queue.name}:limits")
        else:
            storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(storage)
        options = settings.limits
        self.per_conversation = RateLimitItemPerMinute(options.messages_per_conversation_per_minute)
        self.per_address = RateLimitItemPerMinute(options.messages_per_address_per_minute)

    def admit_address(self, address: str) -> None:
        self._admit(self.per_address, "address", address, "too many messages from your address")

    def admit_conversation(self, conversation_id: str) -> None:
        self._admit(
            self.per_conversation,
            "conversation",
            conversation_id,
            "too many messages in this conversation",
        )

    def started(self, conversation_id: str) -> None:
        """A new conversation's first message, admitted by its address alone."""
        self.limiter.hit(self.per_conversation, "messages", "conversation", conversation_id)

    def _admit(self, item: RateLimitItem, kind: str, identifier: str, detail: str) -> None:
        if self.limiter.hit(item, "messages", kind, identifier):
            return
        stats = self.limiter.get_window_stats(item, "messages", kind, identifier)
        # The window's times are the library's own (time.time()), so its wait is measured there.
        wait = stats.reset_time - time.time()
        log.warning("messages.rate_limited", per=kind, limit=item.amount, retry_after=wait)
        raise TooManyRequests(f"{detail} (at most {item.amount} a minute)", wait)


def message_rates(request: Request) -> MessageRates:
    """One limiter per application, made on first use."""
    state = request.app.state
    rates: MessageRates | None = getattr(state, "message_rates", None)
    if rates is None:
        with _creating:
            rates = getattr(state, "message_rates", None)
            if rates is None:
                services: Services = state.services
                rates = state.message_rates = MessageRates(services.settings)
    return rates


# staff sign-in


class SignInRefused(Exception):
    """Too many failed sign-ins for this account or from this address: not checked at all."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__("too many failed sign-ins for this account or from this address")
        self.wait = wait

    def as_http(self) -> TooManyRequests:
        return TooManyRequests(str(self), self.wait)


def sign_in_limits(services: Services) -> SignInLimits:
    return SignInLimits(services.store, policy_of(services.settings.limits))


def checked_sign_in(request: Request, username: str, password: str) -> StaffUser | None:
    """The staff member whose name and password these are, None for a wrong pair; raises
    SignInRefused, before any password work, while the account or the address must wait.
    Every outcome is logged (never the password)."""
    services: Services = request.app.state.services
    limits = sign_in_limits(services)
    address = client_address(request)
    attempt = limits.attempt(username, address)
    if attempt.retry_after is not None:
        log.warning(
            "auth.sign_in_refused",
            username=username,
            address=address,
            waiting=attempt.refused_by,
            retry_after=retry_after(attempt.retry_after),
        )
        raise SignInRefused(attempt.retry_after)
    staff = authenticate(services.store, username, password)
    if staff is None:
        log.warning(
            "auth.sign_in_failed",
            username=username,
            address=address,
            account_failures=attempt.account_failures,
            address_failures=attempt.address_failures,
            locked=list(attempt.locks),
        )
        return None
    limits.succeeded(username, address)
    log.info("auth.signed_in", username=staff.username, role=staff.role, address=address)
    return staff
