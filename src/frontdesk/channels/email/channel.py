"""Starting the email channel: the one place `frontdesk serve` and `frontdesk worker` start it.
The receiver runs where the API runs (`serve`) when `[email] smtp_listen` is set, and so does
the IMAP poller when `imap_host` is (each mail is taken once, by any number of them); the outbox
sender runs in every serving and worker process when a relay is configured (claims keep two
senders from sending one email at once)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from frontdesk.channels.email.imap import ImapPoller
from frontdesk.channels.email.inbound import EmailInbox
from frontdesk.channels.email.receiver import SmtpReceiver
from frontdesk.channels.email.sender import OutboxSender
from frontdesk.keys import secret_key
from frontdesk.store.email import EmailStore

if TYPE_CHECKING:
    from frontdesk.runtime.services import Services


@dataclass
class EmailChannel:
    receiver: SmtpReceiver | None = None
    sender: OutboxSender | None = None
    poller: ImapPoller | None = None
    threads: list[threading.Thread] = field(default_factory=list)

    def close(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
        if self.sender is not None:
            self.sender.stopping.set()
        if self.poller is not None:
            self.poller.stopping.set()
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
    """What `[email]` configures: the receiver and the poller (when `receive`), the sender;
    else nothing."""
    options = services.settings.email
    channel = EmailChannel()
    listen = options.listen
    if receive and listen is not None:
        host, port = listen
        channel.receiver = SmtpReceiver(inbox_of(services), host, port, options.smtp_max_bytes)
        channel.receiver.start()
    if receive and options.polls:
        channel.poller = ImapPoller(inbox_of(services), options)
        _start(channel, channel.poller.run, "frontdesk-imap")
    if options.sends:
        channel.sender = OutboxSender(
            EmailStore(services.store.engine), options, secret_key(services.settings)
        )
        _start(channel, channel.sender.run, "frontdesk-email")
    return channel


def _start(channel: EmailChannel, target: Callable[[], None], name: str) -> None:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    channel.threads.append(thread)
