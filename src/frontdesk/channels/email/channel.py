"""Starting the email channel: the one place `frontdesk serve` and `frontdesk worker` start it.
The receiver runs where the API runs (`serve`) when `[email] smtp_listen` is set; the outbox
sender runs in every serving and worker process when a relay is configured (claims keep two
senders from sending one email at once)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from frontdesk.channels.email.inbound import EmailInbox
from frontdesk.channels.email.receiver import SmtpReceiver
from frontdesk.channels.email.sender import OutboxSender
from frontdesk.store.email import EmailStore

if TYPE_CHECKING:
    from frontdesk.runtime.services import Services


@dataclass
class EmailChannel:
    receiver: SmtpReceiver | None = None
    sender: OutboxSender | None = None
    threads: list[threading.Thread] = field(default_factory=list)

    def close(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
        if self.sender is not None:
            self.sender.stopping.set()
        for thread in self.threads:
            thread.join(timeout=10)


def inbox_of(services: Services) -> EmailInbox:
    settings = services.settings
    return EmailInbox(
        EmailStore(services.store.engine),
        services.intake,
        settings.email,
        settings.server.max_message_chars,
    )


def start_email(services: Services, receive: bool) -> EmailChannel:
    """What `[email]` configures: the receiver (when `receive`), the sender; else nothing."""
    options = services.settings.email
    channel = EmailChannel()
    listen = options.listen
    if receive and listen is not None:
        host, port = listen
        channel.receiver = SmtpReceiver(inbox_of(services), host, port, options.smtp_max_bytes)
        channel.receiver.start()
    if options.sends:
        channel.sender = OutboxSender(EmailStore(services.store.engine), options)
        thread = threading.Thread(target=channel.sender.run, name="frontdesk-email", daemon=True)
        thread.start()
        channel.threads.append(thread)
    return channel
