"""The `[email]` settings: the SMTP receiver frontdesk runs, the relay replies leave by, and the
limits that keep mail from flooding or looping (docs/email.md)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from frontdesk.settings_section import Section

MIB = 2**20


class EmailSettings(Section):
    address: str | None = Field(
        None,
        description="the support address replies come from, such as support@shop.example; "
        "needed to send (replies carry support+<token>@ in Reply-To)",
    )
    smtp_listen: str | None = Field(
        None,
        description="host:port where `frontdesk serve` receives mail by SMTP, such as "
        "127.0.0.1:2525; unset, no receiver",
    )
    smtp_max_bytes: int = Field(
        64 * MIB,
        ge=MIB,
        le=512 * MIB,
        description="the largest mail the receiver takes at all (larger is refused in SMTP, "
        "552), 1 MiB to 512 MiB",
    )
    max_message_bytes: int = Field(
        25 * MIB,
        ge=1024,
        description="a mail larger than this is stored with the reason, not answered",
    )
    max_attachment_bytes: int = Field(
        10 * MIB,
        ge=0,
        description="an attachment larger than this is listed (name, type, size) but not kept",
    )
    reply_limit_per_hour: int = Field(
        5,
        ge=1,
        le=1000,
        description="automatic replies one address gets per hour at most, 1 to 1000 (two "
        "auto-responders can never loop); a person's replies are not limited",
    )
    relay_host: str | None = Field(
        None, description="the SMTP relay replies are sent through; unset, nothing is sent"
    )
    relay_port: int = Field(587, ge=1, le=65535, description="the relay's port, 1 to 65535")
    relay_starttls: bool = Field(
        True, description="true to upgrade the relay connection by STARTTLS"
    )
    relay_username: str | None = Field(None, description="the relay login; unset, no AUTH")
    relay_password_env: str = Field(
        "FRONTDESK_EMAIL_PASSWORD",
        description="the environment variable holding the relay password (with relay_username)",
    )
    relay_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="seconds to wait for the relay, above 0 and ≤ 600"
    )
    send_poll_seconds: float = Field(
        2.0, gt=0, le=300, description="seconds between looks at the outbox, above 0 and ≤ 300"
    )
    send_attempts: int = Field(
        8, ge=1, le=100, description="tries of one email before it is marked failed, 1 to 100"
    )
    sending_lease_seconds: float = Field(
        300.0,
        ge=1,
        le=86400,
        description="an email marked sending this long ago (its sender died) is sent again, "
        "with the same Message-ID",
    )

    imap_host: str | None = Field(
        None,
        description="an IMAP server whose mailbox frontdesk polls (an existing support mailbox); "
        "unset, no polling",
    )
    imap_port: int = Field(993, ge=1, le=65535, description="the IMAP port, 1 to 65535")
    imap_security: Literal["ssl", "starttls", "none"] = Field(
        "ssl",
        description='"ssl" (IMAPS, port 993), "starttls" (port 143, upgraded) or "none" (only '
        "on loopback)",
    )
    imap_username: str | None = Field(None, description="the mailbox login")
    imap_password_env: str = Field(
        "FRONTDESK_IMAP_PASSWORD",
        description="the environment variable holding the mailbox password",
    )
    imap_folder: str = Field("INBOX", description="the folder polled")
    imap_move_to: str | None = Field(
        None,
        description="a folder each taken mail is moved to once stored; unset, it stays, flagged "
        "$FrontdeskTaken and seen",
    )
    imap_poll_seconds: float = Field(
        30.0, gt=0, le=3600, description="seconds between polls of the mailbox, above 0 and ≤ 3600"
    )

    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+(/\S*)?$",
        description="where customers reach frontdesk, such as https://support.shop.example; "
        "with it, every reply by email ends with links to rate the conversation 1 to 5 "
        "(docs/observability.md#customer-satisfaction); unset, no links",
    )

    @field_validator("smtp_listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            match = re.fullmatch(r"(.+):([0-9]{1,5})", value)
            if match is None or not 0 < int(match.group(2)) < 65536:
                raise ValueError("must be host:port, such as 127.0.0.1:2525")
        return value

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s+]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError("must be a plain address without '+', such as support@shop.example")
        return value

    @property
    def listen(self) -> tuple[str, int] | None:
        if self.smtp_listen is None:
            return None
        host, port = self.smtp_listen.rsplit(":", 1)
        return host.strip("[]"), int(port)

    @property
    def polls(self) -> bool:
        return self.imap_host is not None and self.imap_username is not None

    @property
    def sends(self) -> bool:
        return self.relay_host is not None and self.address is not None
