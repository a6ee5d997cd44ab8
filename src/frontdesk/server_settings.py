"""The `[server]` settings: where frontdesk listens, what it accepts, and how staff sessions and
the chat's embedding are guarded (docs/security.md)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from frontdesk.settings_section import Section


class ServerSettings(Section):
    host: str = Field("127.0.0.1", description="an interface address such as 127.0.0.1 or 0.0.0.0")
    port: int = Field(8000, ge=1, le=65535, description="a TCP port from 1 to 65535")
    max_message_chars: int = Field(
        4000, ge=1, le=100_000, description="the longest accepted message, 1 to 100000 characters"
    )
    max_body_bytes: int = Field(
        2**20, ge=2**16, le=2**26, description="the largest request body, 65536 to 67108864 bytes"
    )
    secret_key_env: str = Field(
        "FRONTDESK_SECRET_KEY",
        description="the environment variable holding the key that signs sessions and "
        "conversation tokens; unset, a key is generated once in data_dir/secret_key",
    )
    secure_cookies: bool | None = Field(
        None,
        description="true to send session cookies over HTTPS only (behind TLS), false to allow "
        "plain HTTP; unset, true unless host is a loopback address (127.0.0.1, ::1, localhost)",
    )
    session_hours: float = Field(
        8.0,
        gt=0,
        le=168,
        description="hours a staff sign-in lasts at most, however active, above 0 and ≤ 168",
    )
    session_idle_minutes: float = Field(
        30.0,
        gt=0,
        le=1440,
        description="minutes without a request after which a staff sign-in ends, above 0 and "
        "≤ 1440",
    )
    widget_origins: list[str] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        description="the sites that may embed the chat page (the widget's frame), as origins "
        "such as https://shop.example.com, or '*' for any site",
    )

    @field_validator("widget_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme and host (and port), such as "
                    "https://shop.example.com, or '*'"
                )
        return origins
