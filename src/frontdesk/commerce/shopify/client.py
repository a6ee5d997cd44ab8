"""Transport to Shopify: GraphQL over `HttpClient` (its retries, plus Shopify's throttling),
and the in-process memory of recent results by idempotency key."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from frontdesk.commerce.http import BackendError, HttpClient

Result = TypeVar("Result", bound=BaseModel)


class GraphQL:
    """POST a document and its variables; return `data`, or raise `BackendError`."""

    def __init__(self, http: HttpClient, path: str) -> None:
        self.http = http
        self.path = path

    def __call__(
        self, document: str, variables: dict[str, Any], *, replay_safe: bool = True
    ) -> dict[str, Any]:
        response = self.http.request(
            "POST",
            self.path,
            json={"query": document, "variables": variables},
            replay_safe=replay_safe,
            throttled=_throttle_wait,
        )
        service = self.http.service
        if response.status_code in (401, 403):
            raise BackendError(
                service,
                "the access token was rejected or lacks an access scope",
                status_code=response.status_code,
                body=response.text,
            )
        if response.status_code != 200:
            raise BackendError(
                service, "unexpected reply", status_code=response.status_code, body=response.text
            )
        try:
            payload = response.json()
        except ValueError:
            raise BackendError(service, "the reply is not JSON", status_code=200) from None
        if payload.get("errors"):
            raise BackendError(
                service, f"GraphQL errors: {_messages(payload['errors'])}", status_code=200
            )
        return payload.get("data") or {}


class Recent:
    """The last results by idempotency key, so a key repeated within this process acts once."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._items: OrderedDict[str, BaseModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, kind: type[Result]) -> Result | None:
        with self._lock:
            item = self._items.get(key)
            return item.model_copy(deep=True) if isinstance(item, kind) else None

    def put(self, key: str, result: Result) -> Result:
        with self._lock:
            self._items[key] = result.model_copy(deep=True)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return result


def _messages(errors: Any) -> str:
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )
    return str(errors)


def _throttle_wait(response: httpx.Response) -> float | None:
    """Seconds to wait when Shopify answered THROTTLED (the query was not executed), else None."""
    if response.status_code != 200 or b"THROTTLED" not in response.content:
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list) or not any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED"
        for e in errors
    ):
        return None
    cost = (payload.get("extensions") or {}).get("cost") or {}
    bucket = cost.get("throttleStatus") or {}
    try:
        missing = float(cost["requestedQueryCost"]) - float(bucket["currentlyAvailable"])
        return max(missing / float(bucket["restoreRate"]), 0.0)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return 1.0
