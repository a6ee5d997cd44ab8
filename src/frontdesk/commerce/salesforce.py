"""The CRM on Salesforce: `Crm.open_case` as an idempotent upsert of a Case by an external ID.

The access token comes from the OAuth 2.0 client credentials flow, is cached, and is fetched again
once when Salesforce answers 401. The case is written with
`PATCH /services/data/vXX.X/sobjects/Case/{external_id_field}/{key}`: the first call creates it,
a repeated key updates the same case with the same values, so at-least-once delivery opens one case.
"""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import datetime
from typing import Any, NoReturn
from urllib.parse import quote

import httpx

from frontdesk.clock import utcnow
from frontdesk.commerce.base import CommerceError
from frontdesk.commerce.http import BackendConfigError, BackendError, HttpClient, RetryPolicy
from frontdesk.commerce.models import SupportCase

API_VERSION = "v62.0"
# Salesforce rejections that are about the case's content, worth telling the customer.
CONTENT_ERRORS = {"FIELD_CUSTOM_VALIDATION_EXCEPTION", "STRING_TOO_LONG"}
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class SalesforceCrm:
    """`Crm` on a Salesforce org, through a connected app with the client credentials flow."""

    def __init__(
        self,
        instance_url: str,
        client_id: str,
        client_secret: str,
        *,
        api_version: str = API_VERSION,
        external_id_field: str = "Frontdesk_Key__c",
        user_id_field: str | None = "Frontdesk_User_Id__c",
        origin: str | None = "Web",
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not client_id.strip() or not client_secret.strip():
            raise BackendConfigError(
                "SalesforceCrm: client_id and client_secret must both be set; copy the consumer "
                "key and secret of the connected app that has the client credentials flow enabled"
            )
        if not re.fullmatch(r"v\d+\.\d", api_version):
            raise BackendConfigError(
                f"SalesforceCrm: api_version {api_version!r} must look like {API_VERSION!r}"
            )
        for name, value in (
            ("external_id_field", external_id_field),
            ("user_id_field", user_id_field),
        ):
            if value is not None and not FIELD_NAME.fullmatch(value):
                raise BackendConfigError(
                    f"SalesforceCrm: {name} {value!r} is not a field API name "
                    "(for example Frontdesk_Key__c)"
                )
        self.api_version = api_version
        self.external_id_field = external_id_field
        self.user_id_field = user_id_field
        self.origin = origin
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._client_id = client_id
        self._client_secret = client_secret
        self._auth = HttpClient(
            "Salesforce OAuth", instance_url, timeout=timeout, retry=self._retry
        )
        self._instance_url = instance_url.rstrip("/")
        self._api: HttpClient | None = None
        self._api_base = ""
        self._token: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._auth.close()
        if self._api is not None:
            self._api.close()

    def __enter__(self) -> SalesforceCrm:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open_case(
        self, user_id: str | None, subject: str, description: str, key: str
    ) -> SupportCase:
        # Refuse what the embedded CRM refuses, before anything reaches Salesforce.
        SupportCase(
            case_id="-",
            user_id=user_id,
            subject=subject,
            description=description,
            created_at=utcnow(),
        )
        fields: dict[str, Any] = {"Subject": subject, "Description": description}
        if self.origin:
            fields["Origin"] = self.origin
        if self.user_id_field:
            fields[self.user_id_field] = user_id
        by_key = (
            f"{self._sobjects}/Case/{self.external_id_field}/{quote(_external_id(key), safe='')}"
        )
        response = self._call("PATCH", by_key, json=fields)
        if response.status_code == 300:
            raise BackendError(
                "Salesforce REST API",
                f"several cases share the key; make {self.external_id_field} a unique external ID",
                status_code=300,
                body=response.text,
            )
        if response.status_code not in (200, 201, 204):
            _fail(response)
        case_id = _json(response).get("id")  # 204 (API versions before 46.0) has no body
        record = self._call(
            "GET",
            f"{self._sobjects}/Case/{case_id}" if case_id else by_key,
            params={"fields": ",".join(self._fields)},
        )
        if record.status_code != 200:
            _fail(record)
        return self._case(record.json(), user_id, subject, description)

    # plumbing

    @property
    def _sobjects(self) -> str:
        return f"/services/data/{self.api_version}/sobjects"

    @property
    def _fields(self) -> list[str]:
        names = ["Id", "CaseNumber", "Status", "IsClosed", "Subject", "Description", "CreatedDate"]
        return names + ([self.user_id_field] if self.user_id_field else [])

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An API request with the cached token; on 401 fetch a new token and try once more."""
        token = self._access_token()
        response = self._send(method, path, token, **kwargs)
        if response.status_code == 401:
            response = self._send(method, path, self._access_token(stale=token), **kwargs)
            if response.status_code == 401:
                raise BackendError(
                    "Salesforce REST API",
                    "a freshly issued access token was rejected; check the connected app's "
                    "run-as user and its permissions",
                    status_code=401,
                    body=response.text,
                )
        return response

    def _send(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        assert self._api is not None
        # Upserting by external ID, and reading, are idempotent: safe to replay after a 5xx.
        return self._api.request(
            method, path, headers={"Authorization": f"Bearer {token}"}, replay_safe=True, **kwargs
        )

    def _access_token(self, stale: str | None = None) -> str:
        with self._lock:
            if self._token is not None and self._token != stale:
                return self._token
            response = self._auth.request(
                "POST",
                "/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
                replay_safe=True,
            )
            payload = _json(response)
            if response.status_code != 200 or not payload.get("access_token"):
                reason = payload.get("error_description") or payload.get("error") or "no token"
                raise BackendError(
                    "Salesforce OAuth",
                    f"token request refused: {reason}",
                    status_code=response.status_code,
                )
            instance = (payload.get("instance_url") or self._instance_url).rstrip("/")
            if self._api is None or self._api_base != instance:
                if self._api is not None:
                    self._api.close()
                self._api = HttpClient(
                    "Salesforce REST API", instance, timeout=self._timeout, retry=self._retry
                )
                self._api_base = instance
            self._token = payload["access_token"]
            return self._token

    def _case(
        self, record: dict[str, Any], user_id: str | None, subject: str, description: str
    ) -> SupportCase:
        if record.get("IsClosed"):
            status = "closed"
        elif record.get("Status") == "New":
            status = "new"
        else:
            status = "working"
        return SupportCase(
            case_id=record["Id"],
            user_id=record.get(self.user_id_field) if self.user_id_field else user_id,
            subject=record.get("Subject") or subject,
            description=record.get("Description") or description,
            status=status,
            created_at=datetime.fromisoformat(record["CreatedDate"]),
        )


def _external_id(key: str) -> str:
    """External ID text fields hold at most 255 characters; longer keys are hashed."""
    return key if len(key) <= 255 else hashlib.sha256(key.encode()).hexdigest()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _fail(response: httpx.Response) -> NoReturn:
    """Salesforce answers errors with a list of {message, errorCode, fields}."""
    try:
        errors = response.json()
    except ValueError:
        errors = []
    if not isinstance(errors, list):
        errors = [errors]
    codes = {e.get("errorCode") for e in errors if isinstance(e, dict)}
    messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
    if response.status_code == 400 and codes and codes <= CONTENT_ERRORS:
        raise CommerceError(messages)
    raise BackendError(
        "Salesforce REST API",
        messages or "unexpected reply",
        status_code=response.status_code,
        body=response.text,
    )
