"""Staff sessions kept in the store (docs/security.md#staff-sessions).

Signing in opens a session: a random id that only the signed cookie carries, stored as its
SHA-256. A session works until the first of: its absolute expiry (`lifetime` after sign-in,
however active), `idle` without a request, sign-out (revoked), the account being disabled or its
password reset (every session of the account revoked). The check is one read per request; the
last-seen time is written at most every `touch_every`, so a busy inbox does not write per click.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from frontdesk.clock import utcnow
from frontdesk.store.base import StoreBase
from frontdesk.store.staff import StaffUser, as_user
from frontdesk.store.tables import StaffSessionRow, StaffUserRow


@dataclass(frozen=True)
class SessionPolicy:
    lifetime: timedelta = timedelta(hours=8)
    idle: timedelta = timedelta(minutes=30)

    @property
    def touch_every(self) -> timedelta:
        """How stale the last-seen time may get: a small part of the idle timeout."""
        return min(timedelta(minutes=1), self.idle / 10)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


class StaffSessions:
    def __init__(self, store: StoreBase, policy: SessionPolicy) -> None:
        self.store = store
        self.policy = policy

    def open(self, username: str) -> str:
        """A new session for `username`; returns its id (the cookie's only content). Sessions
        that can no longer work are removed on the way."""
        now = utcnow()
        session_id = secrets.token_urlsafe(32)
        with self.store.session() as session:
            session.execute(
                delete(StaffSessionRow).where(
                    or_(
                        StaffSessionRow.expires_at <= now,
                        StaffSessionRow.revoked_at.is_not(None),
                        StaffSessionRow.last_seen_at <= now - self.policy.idle,
                    )
                )
            )
            session.add(
                StaffSessionRow(
                    id_hash=_hash(session_id),
                    username=username,
                    created_at=now,
                    expires_at=now + self.policy.lifetime,
                    last_seen_at=now,
                )
            )
        return session_id

    def user(self, session_id: str, touch: bool = True) -> StaffUser | None:
        """The staff member whose session this is while it works, else None. With `touch`, the
        request counts as activity (an event stream re-checking its session does not)."""
        now = utcnow()
        with self.store.session() as session:
            found = session.execute(
                select(StaffSessionRow, StaffUserRow)
                .join(StaffUserRow, StaffUserRow.username == StaffSessionRow.username)
                .where(StaffSessionRow.id_hash == _hash(session_id))
            ).first()
            if found is None:
                return None
            row, user = found
            if not self._works(row, now) or user.disabled_at is not None:
                return None
            if touch and now - row.last_seen_at >= self.policy.touch_every:
                row.last_seen_at = now
            return as_user(user)

    def _works(self, row: StaffSessionRow, now: datetime) -> bool:
        return (
            row.revoked_at is None
            and now < row.expires_at
            and now - row.last_seen_at < self.policy.idle
        )

    def revoke(self, session_id: str) -> None:
        """Sign-out: the session stops working, wherever its cookie is."""
        with self.store.session() as session:
            session.execute(
                update(StaffSessionRow)
                .where(StaffSessionRow.id_hash == _hash(session_id))
                .values(revoked_at=utcnow())
            )

    def working(self, username: str) -> int:
        """How many sessions of `username` work now."""
        now = utcnow()
        with self.store.session() as session:
            count = session.scalar(
                select(func.count())
                .select_from(StaffSessionRow)
                .where(
                    StaffSessionRow.username == username,
                    StaffSessionRow.revoked_at.is_(None),
                    StaffSessionRow.expires_at > now,
                    StaffSessionRow.last_seen_at > now - self.policy.idle,
                )
            )
        return count or 0
