"""The `[observability]` settings: who may scrape the Prometheus metrics, and where
(docs/observability.md)."""

from __future__ import annotations

from pydantic import Field

from frontdesk.settings_section import Section


class ObservabilitySettings(Section):
    metrics_token_env: str = Field(
        "FRONTDESK_METRICS_TOKEN",
        description="the environment variable holding the bearer token a scrape of GET /metrics "
        "must send (Authorization: Bearer …); while it is unset, /metrics on the API's port "
        "answers 404",
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="a TCP port from 1 to 65535 where a listener of its own serves the metrics "
        "at /metrics (needing the token too when it is set); unset, no such listener",
    )
    metrics_host: str = Field(
        "127.0.0.1",
        description="the interface address of metrics_port, such as 127.0.0.1 or 0.0.0.0",
    )
    otlp_endpoint: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+(/\S*)?$",
        description="the base URL of an OpenTelemetry collector's OTLP/HTTP receiver, such as "
        "http://127.0.0.1:4318 (traces go to its /v1/traces): each message becomes a trace with "
        "a span per pipeline stage; unset, no traces",
    )
