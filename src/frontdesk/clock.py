"""The one source of the current time.

Everything that stamps or compares times asks `utcnow()`; tests that need time to pass swap the
clock with `set_clock` (or hand a component a clock of their own) instead of sleeping or
asserting on the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


_clock: Clock = system_clock


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return _clock()


def epoch_seconds() -> float:
    """The current time as seconds since the Unix epoch, from the same clock as `utcnow()`; the
    queues stamp leases and retry delays with it, in files and servers other processes share."""
    return _clock().timestamp()


def set_clock(clock: Clock) -> Clock:
    """Replace the clock (tests); returns the previous one so it can be restored."""
    global _clock
    previous, _clock = _clock, clock
    return previous
