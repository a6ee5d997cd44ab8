"""The `[limits]` settings: how much one client may ask before it must wait
(docs/security.md#limits)."""

from __future__ import annotations

from pydantic import Field

from frontdesk.settings_section import Section


class LimitSettings(Section):
    sign_in_failures_per_account: int = Field(
        5,
        ge=1,
        le=100,
        description="failed staff sign-ins in a row that lock the account for "
        "sign_in_lockout_minutes, 1 to 100",
    )
    sign_in_failures_per_address: int = Field(
        20,
        ge=1,
        le=10_000,
        description="failed staff sign-ins from one client address, each within "
        "sign_in_lockout_minutes of the one before, that lock the address, 1 to 10000",
    )
    sign_in_backoff_seconds: float = Field(
        1.0,
        ge=0,
        le=60,
        description="seconds an account waits after its second failed sign-in in a row, "
        "doubling with each further failure until the lock, 0 to 60",
    )
    sign_in_lockout_minutes: float = Field(
        15.0, gt=0, le=1440, description="minutes a lock lasts, above 0 and ≤ 1440"
    )
    identification_attempts: int = Field(
        5,
        ge=1,
        le=50,
        description="failed identifications (by email, or name and zip code) in one "
        "conversation before a person takes it over, 1 to 50",
    )
    messages_per_conversation_per_minute: int = Field(
        20,
        ge=1,
        le=100_000,
        description="messages one conversation may post in any minute, 1 to 100000",
    )
    messages_per_address_per_minute: int = Field(
        60,
        ge=1,
        le=1_000_000,
        description="messages one client address may post in any minute, to all its "
        "conversations and new ones, 1 to 1000000",
    )
