"""Failed staff sign-ins, counted per account and per client address (docs/security.md#limits).

Each key, `account:NAME` or `address:IP`, keeps how many sign-ins failed and until when it must
wait. An attempt is counted as failed *before* its password is checked, in one transaction with
both rows locked: a key that must wait is refused without any argon2 work, and parallel guesses
cannot slip in under one count. A sign-in that succeeds takes its count back: the account's
failures are forgotten, the address's lose that one attempt.

- An account may try again at once after one failure, waits `backoff` after the second, twice
  that after the third, and so on; its `account_failures`-th failure in a row locks it for
  `lockout`, and so does every failure after that until a success. A count is forgotten a day
  after its last failure.
- An address is locked for `lockout` by `address_failures` failures each within `lockout` of the
  one before (spraying many accounts from one place); a pause as long as that forgets them.

The counts live in the store, not in a process, so every server process sees the same ones and
`frontdesk users unlock` (another process) can clear them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.clock import utcnow
from frontdesk.limit_settings import LimitSettings
from frontdesk.store.base import StoreBase, audit
from frontdesk.store.tables import SignInFailureRow

Kind = Literal["account", "address"]
FORGET_ACCOUNT_AFTER = timedelta(days=1)
# A concurrent attempt on the same key holds it: the loser asks again after this.
BUSY_RETRY = timedelta(seconds=1)


@dataclass(frozen=True)
class SignInPolicy:
    account_failures: int = 5
    address_failures: int = 20
    backoff: timedelta = timedelta(seconds=1)
    lockout: timedelta = timedelta(minutes=15)

    def wait_after(self, kind: Kind, failures: int) -> timedelta:
        """How long a key waits after its `failures`-th failure."""
        if kind == "address":
            return self.lockout if failures >= self.address_failures else timedelta(0)
        if failures >= self.account_failures:
            return self.lockout
        if failures == 1:
            return timedelta(0)  # a slip: retyping at once is fine
        doubled = self.backoff.total_seconds() * 2.0 ** min(failures - 2, 32)
        return min(timedelta(seconds=doubled), self.lockout)

    def forgets(self, kind: Kind, last_failure: datetime, now: datetime) -> bool:
        return now - last_failure >= (FORGET_ACCOUNT_AFTER if kind == "account" else self.lockout)


def policy_of(options: LimitSettings) -> SignInPolicy:
    return SignInPolicy(
        account_failures=options.sign_in_failures_per_account,
        address_failures=options.sign_in_failures_per_address,
        backoff=timedelta(seconds=options.sign_in_backoff_seconds),
        lockout=timedelta(minutes=options.sign_in_lockout_minutes),
    )


@dataclass(frozen=True)
class Attempt:
    """An attempt counted as failed until `SignInLimits.succeeded` says otherwise; refused when
    `retry_after` is set (its password must not be checked)."""

    account_failures: int = 0
    address_failures: int = 0
    locks: tuple[Kind, ...] = ()  # the keys this attempt locks if its password is wrong
    refused_by: Kind | None = None
    retry_after: timedelta | None = None


def key_of(kind: Kind, value: str) -> str:
    return f"{kind}:{value}"


class SignInLimits:
    def __init__(self, store: StoreBase, policy: SignInPolicy) -> None:
        self.store = store
        self.policy = policy

    def attempt(self, username: str, address: str) -> Attempt:
        """Refuse the attempt while its account or address must wait; else count it."""
        now = utcnow()
        keys: dict[Kind, str] = {
            "account": key_of("account", username),
            "address": key_of("address", address),
        }
        try:
            with self.store.session() as session:
                return self._count(session, keys, now)
        except IntegrityError:  # a parallel first attempt inserted the same key
            return Attempt(refused_by="account", retry_after=BUSY_RETRY)

    def _count(self, session: Session, keys: dict[Kind, str], now: datetime) -> Attempt:
        session.execute(
            delete(SignInFailureRow).where(
                SignInFailureRow.last_failure_at < now - FORGET_ACCOUNT_AFTER
            )
        )
        found = session.scalars(
            select(SignInFailureRow)
            .where(SignInFailureRow.key.in_(keys.values()))
            .with_for_update()
        )
        rows = {row.key: row for row in found}
        waits = [
            (row.blocked_until - now, kind)
            for kind, key in keys.items()
            if (row := rows.get(key)) is not None and row.blocked_until > now
        ]
        if waits:
            wait, kind = max(waits)
            return Attempt(refused_by=kind, retry_after=wait)
        failures: dict[Kind, int] = {}
        locks: list[Kind] = []
        for kind, key in keys.items():
            row = rows.get(key)
            if row is None:
                row = SignInFailureRow(key=key, failures=0, last_failure_at=now, blocked_until=now)
                session.add(row)
            elif self.policy.forgets(kind, row.last_failure_at, now):
                row.failures = 0
            row.failures += 1
            row.last_failure_at = now
            row.blocked_until = now + self.policy.wait_after(kind, row.failures)
            failures[kind] = row.failures
            if self.policy.wait_after(kind, row.failures) >= self.policy.lockout:
                locks.append(kind)
        return Attempt(failures["account"], failures["address"], tuple(locks))

    def succeeded(self, username: str, address: str) -> None:
        """The password was right: forget the account's failures, take the attempt back from
        the address."""
        now = utcnow()
        with self.store.session() as session:
            account = session.get(SignInFailureRow, key_of("account", username))
            if account is not None:
                session.delete(account)
            place = session.get(SignInFailureRow, key_of("address", address), with_for_update=True)
            if place is not None:
                place.failures = max(place.failures - 1, 0)
                if place.failures < self.policy.address_failures:
                    place.blocked_until = min(place.blocked_until, now)

    def unlock(self, actor: str, username: str | None, address: str | None) -> dict[str, int]:
        """Forget the failures of an account, an address or both (an admin's unlock, audited):
        how many each key had, leaving out a key that had none."""
        named: list[tuple[Kind, str | None]] = [("account", username), ("address", address)]
        keys = [key_of(kind, value) for kind, value in named if value is not None]
        forgotten: dict[str, int] = {}
        with self.store.session() as session:
            for key in keys:
                row = session.get(SignInFailureRow, key)
                if row is None:
                    continue
                forgotten[key] = row.failures
                session.delete(row)
                # Audit subjects are ids: the key itself, which may be longer, is in the data.
                subject = hashlib.sha256(key.encode()).hexdigest()[:32]
                data = {"key": key, "failures": row.failures}
                session.add(audit(actor, "sign_in.unlocked", subject, data))
        return forgotten
