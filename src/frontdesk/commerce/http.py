"""HTTP plumbing shared by the remote shop and CRM adapters: timeouts, bounded retries, errors.

Retrying is decided per request, never by accident:
- a request that never left (connection refused, connect timeout, no free connection) and a
  refusal that says it was not executed (429, or a caller-recognised "throttled" reply) are
  retried for every request, honouring `Retry-After`;
- a request whose effect may have been applied (read timeout, dropped connection, 5xx) is retried
  only when the caller marks it `replay_safe` (reads, and writes idempotent by key or by nature).

What remains after the attempts are spent is a `BackendError`: a run-time failure of the remote
system, never a refusal meant for the customer (that is `CommerceError`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from frontdesk.clock import utcnow


class BackendError(Exception):
    """A remote backend failed at run time: unreachable, throttled for too long, 5xx, rejected
    credentials or an unexpected reply. The message is for operators, not for customers."""

    def __init__(
        self,
        service: str,
        message: str,
        *,
        status_code: int | None = None,
        body: str | None = None,
    ) -> None:
        self.service = service
        self.status_code = status_code
        self.body = body
        detail = f" (HTTP {status_code}: {body[:500]})" if status_code is not None and body else ""
        super().__init__(f"{service}: {message}{detail}")


class BackendConfigError(ValueError):
    """A remote backend is configured wrongly; the message names the parameter and the fix."""


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` tries; exponential backoff with jitter between them.

    A `Retry-After` (or throttle hint) longer than `max_retry_after` is not waited for: the call
    fails at once with `BackendError`. `sleep` is the clock seam tests replace.
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise BackendConfigError("retry attempts must be at least 1 (1 means: never retry)")
        if self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise BackendConfigError("retry backoff and waits must not be negative")

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait after failed try number `attempt`, or None when not worth waiting."""
        if retry_after is not None:
            return max(retry_after, 0.0) if retry_after <= self.max_retry_after else None
        base = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
        return base * (0.5 + random.random() / 2)


# Never sent: safe to send again whatever the request does.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class HttpClient:
    """One remote service: a base URL, fixed headers, timeouts and the retry rules above."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise BackendConfigError(
                f"{service}: base URL {base_url!r} must start with https:// "
                "(for example https://example.myshopify.com)"
            )
        self.service = service
        self.retry = retry or RetryPolicy()
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers or {},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        replay_safe: bool,
        throttled: Callable[[httpx.Response], float | None] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with the retry rules; any status other than 429/5xx is returned to the caller.

        `throttled(response)` may recognise a reply that says the request was not executed and
        return how long to wait (Shopify answers GraphQL throttling with 200 and an error).
        """
        policy = self.retry
        for attempt in range(1, policy.attempts + 1):
            status: int | None = None
            body: str | None = None
            retry_after: float | None = None
            try:
                response = self._client.request(method, url, **kwargs)
            except NOT_SENT as exc:
                again, failure = True, f"cannot connect ({type(exc).__name__}: {exc})"
            except httpx.TransportError as exc:
                again = replay_safe
                failure = f"no reply ({type(exc).__name__}: {exc}); the request may have applied"
            else:
                status, body = response.status_code, response.text
                hint = throttled(response) if throttled is not None else None
                if response.status_code == 429 or hint is not None:
                    again, failure = True, "throttled"
                    retry_after = hint if hint is not None else _retry_after(response)
                elif response.status_code >= 500:
                    again = replay_safe
                    failure = "server error" + (
                        "" if replay_safe else "; the change may have applied"
                    )
                else:
                    return response
            if not again:
                raise BackendError(
                    self.service, f"{failure}; not retried", status_code=status, body=body
                )
            wait = policy.delay(attempt, retry_after)
            if attempt == policy.attempts or wait is None:
                raise BackendError(
                    self.service,
                    f"{failure} after {attempt} attempt(s)"
                    + ("" if wait is not None else f"; asked to wait {retry_after:.0f} s"),
                    status_code=status,
                    body=body,
                )
            policy.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._client.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - utcnow()).total_seconds(), 0.0)
