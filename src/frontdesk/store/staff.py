"""Staff accounts: people who work the inbox, with argon2-hashed passwords and a role. A
disabled account cannot sign in, and its sessions (store/staff_sessions.py) end with it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from frontdesk.clock import utcnow
from frontdesk.store.base import audit, changed_rows
from frontdesk.store.repository import Store
from frontdesk.store.tables import AuditRow, StaffSessionRow, StaffUserRow

Role = Literal["agent", "specialist", "admin"]
ROLES: tuple[Role, ...] = ("agent", "specialist", "admin")
MIN_PASSWORD = 10
HASHER = PasswordHasher()
# Verifying against this keeps an unknown name as slow as a wrong password.
_DUMMY_HASH = HASHER.hash("not-a-real-password")


@dataclass(frozen=True)
class StaffUser:
    username: str
    role: Role

    def may_work(self, tier: str) -> bool:
        """Agents work human handoffs; specialists and admins work both tiers."""
        return tier == "human" or self.role in ("specialist", "admin")


class StaffError(ValueError):
    pass


def as_role(name: str) -> Role:
    """A role given by name (on the command line), or StaffError."""
    for role in ROLES:
        if name == role:
            return role
    raise StaffError(f"role must be one of {', '.join(ROLES)}")


def add_user(store: Store, username: str, password: str, role: Role) -> StaffUser:
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password needs at least {MIN_PASSWORD} characters")
    with store.session() as session:
        if session.get(StaffUserRow, username) is not None:
            raise StaffError(f"{username} exists already")
        session.add(
            StaffUserRow(
                username=username,
                password_hash=HASHER.hash(password),
                role=role,
                created_at=utcnow(),
            )
        )
    return StaffUser(username, role)


def authenticate(store: Store, username: str, password: str) -> StaffUser | None:
    """The account when the password is right and the account is not disabled (its password is
    checked all the same, so a disabled name takes as long as any other)."""
    with store.session() as session:
        row = session.get(StaffUserRow, username)
        stored = row.password_hash if row else _DUMMY_HASH
        try:
            HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError):
            return None
        return as_user(row) if row and row.disabled_at is None else None


@dataclass(frozen=True)
class StaffAccount:
    """An account as `frontdesk users list` shows it."""

    username: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None


def list_users(store: Store) -> list[StaffUser]:
    """The accounts that may work: not disabled."""
    with store.session() as session:
        rows = session.scalars(
            select(StaffUserRow)
            .where(StaffUserRow.disabled_at.is_(None))
            .order_by(StaffUserRow.username)
        )
        return [as_user(row) for row in rows]


def list_accounts(store: Store) -> list[StaffAccount]:
    """Every account, disabled ones too."""
    with store.session() as session:
        rows = session.scalars(select(StaffUserRow).order_by(StaffUserRow.username))
        return [
            StaffAccount(row.username, as_user(row).role, row.created_at, row.disabled_at)
            for row in rows
        ]


def find_user(store: Store, username: str) -> StaffUser | None:
    """The account, unless it does not exist or is disabled."""
    with store.session() as session:
        row = session.get(StaffUserRow, username)
        return as_user(row) if row and row.disabled_at is None else None


def disable_user(store: Store, username: str, actor: str) -> int:
    """No more sign-ins, and every session of the account ends now; how many were open."""
    with store.session() as session:
        row = _existing(session, username)
        now = utcnow()
        row.disabled_at = row.disabled_at or now
        ended = revoke_all(session, username, now)
        session.add(_audit(actor, "staff.disabled", username, sessions=ended))
    return ended


def enable_user(store: Store, username: str, actor: str) -> None:
    with store.session() as session:
        _existing(session, username).disabled_at = None
        session.add(_audit(actor, "staff.enabled", username))


def reset_password(store: Store, username: str, password: str, actor: str) -> int:
    """A new password; every session of the account ends (whoever knew the old one is out).
    How many sessions were open."""
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password needs at least {MIN_PASSWORD} characters")
    with store.session() as session:
        row = _existing(session, username)
        row.password_hash = HASHER.hash(password)
        ended = revoke_all(session, username, utcnow())
        session.add(_audit(actor, "staff.password_reset", username, sessions=ended))
    return ended


def revoke_all(session: Session, username: str, now: datetime) -> int:
    """End every open session of an account, in the caller's transaction; how many."""
    return changed_rows(
        session,
        update(StaffSessionRow)
        .where(StaffSessionRow.username == username, StaffSessionRow.revoked_at.is_(None))
        .values(revoked_at=now),
    )


def _existing(session: Session, username: str) -> StaffUserRow:
    row = session.get(StaffUserRow, username, with_for_update=True)
    if row is None:
        raise StaffError(f"no staff account {username!r}")
    return row


def _audit(actor: str, action: str, username: str, **data: int) -> AuditRow:
    # Audit subjects are ids (32 characters): the name, which may be longer, is in the data.
    subject = hashlib.sha256(f"staff:{username}".encode()).hexdigest()[:32]
    return audit(actor, action, subject, {"username": username, **data})


def as_user(row: StaffUserRow) -> StaffUser:
    # The column is a plain string; add_user stores only one of ROLES in it.
    return StaffUser(row.username, cast(Role, row.role))
