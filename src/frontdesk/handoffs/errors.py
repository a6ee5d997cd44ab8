"""Why a staff action on a handoff was refused: one family, raised by the store and the service,
translated into an HTTP answer or an inbox page at the edges."""

from __future__ import annotations


class HandoffError(Exception):
    """A staff action on a handoff that cannot be done; the message says why."""


class UnknownHandoff(HandoffError, LookupError):
    def __init__(self, handoff_id: str) -> None:
        super().__init__("Unknown handoff")
        self.handoff_id = handoff_id


class HandoffClosed(HandoffError):
    def __init__(self, handoff_id: str) -> None:
        super().__init__("This conversation was already answered")
        self.handoff_id = handoff_id


class ClaimedByOther(HandoffError):
    """Someone else is working this handoff."""

    def __init__(self, holder: str | None) -> None:
        super().__init__(f"{holder} is working on this one")
        self.holder = holder


class AlreadySpecialist(HandoffError):
    def __init__(self, handoff_id: str) -> None:
        super().__init__("It is with the specialists already")
        self.handoff_id = handoff_id


class NotForYourRole(HandoffError):
    """Agents work the human tier only."""

    def __init__(self) -> None:
        super().__init__("This conversation is for specialists")


class InvalidHandoffAction(HandoffError):
    """The request itself is wrong (blank answer, an intent the bot does not know, …)."""
