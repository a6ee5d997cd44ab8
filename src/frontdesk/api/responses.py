"""What a route answers besides its success, each with the body it sends, so the OpenAPI document
lists every status code a route returns (issue 19, point 7; checked by
tests/test_openapi_contract.py). A route names the groups it can hit; `refusals` merges them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from frontdesk.api.schemas import InvalidRequest, Problem

# Every path: the guards refuse a NUL in the path or the query string before any route.
ANY_REQUEST = {400: "a NUL character (U+0000) in the path or the query string"}
# Any POST to /v1/…: the guards and the body's parsing, before the route's own checks.
A_BODY = {
    400: "malformed JSON, or a body that is not UTF-8",
    413: "a body larger than server.max_body_bytes",
    415: "a body that is not application/json",
}
INVALID = {422: "a parameter or a field of the body is not acceptable; `detail` says which"}
STAFF_ONLY = {401: "sign in as staff first: no session, or it ended"}
SAME_SITE = {403: "refused: a request from another site (its Origin is not this server's)"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "whole seconds to wait",
        "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"},
    },
}


def refusals(*groups: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each status with every reason given for it and its body
    (a 422 lists the fields, any other refusal is one `detail`); a 429 says when to try again."""
    reasons: dict[int, list[str]] = {}
    for group in groups:
        for status_code, reason in group.items():
            reasons.setdefault(status_code, []).append(reason)
    answers: dict[int | str, dict[str, Any]] = {}
    for status_code, why in sorted(reasons.items()):
        answers[status_code] = {
            "description": "; or ".join(why),
            "model": InvalidRequest if status_code == 422 else Problem,
        }
        if status_code == 429:
            answers[status_code]["headers"] = RETRY_AFTER
    return answers
