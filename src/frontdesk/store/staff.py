"""Staff accounts: people who work the inbox, with argon2-hashed passwords and a role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from sqlalchemy import select

from frontdesk.clock import utcnow
from frontdesk.store.repository import Store
from frontdesk.store.tables import StaffUserRow

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
    with store.session() as session:
        row = session.get(StaffUserRow, username)
        stored = row.password_hash if row else _DUMMY_HASH
        try:
            HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError):
            return None
        return _user(row) if row else None


def list_users(store: Store) -> list[StaffUser]:
    with store.session() as session:
        rows = session.scalars(select(StaffUserRow).order_by(StaffUserRow.username))
        return [_user(row) for row in rows]


def find_user(store: Store, username: str) -> StaffUser | None:
    with store.session() as session:
        row = session.get(StaffUserRow, username)
        return _user(row) if row else None


def _user(row: StaffUserRow) -> StaffUser:
    # The column is a plain string; add_user stores only one of ROLES in it.
    return StaffUser(row.username, cast(Role, row.role))
