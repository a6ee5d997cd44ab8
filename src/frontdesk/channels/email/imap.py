"""Polling an existing mailbox by IMAP (imaplib), for companies that keep theirs.

Each poll takes the folder's mail not yet flagged `$FrontdeskTaken`, stores each through the
same EmailInbox as the SMTP receiver, and only then flags it (and moves it, with
`imap_move_to`). A poller stopped between storing and flagging leaves the mail unflagged: the
next poll fetches it again and the inbox, which takes each mail once by its Message-ID, stores
nothing twice. Fetching uses BODY.PEEK[], so a mail not yet stored is not marked seen either.
imaplib has no IDLE before Python 3.14: the mailbox is polled every `imap_poll_seconds`."""

from __future__ import annotations

import imaplib
import os
import re
import ssl
import threading

import structlog

from frontdesk.channels.email.inbound import EmailInbox
from frontdesk.channels.email.settings import EmailSettings
from frontdesk.config import ConfigError

log = structlog.get_logger(__name__)

TAKEN = "$FrontdeskTaken"
UIDS = re.compile(rb"\d+")


def imap_password(options: EmailSettings) -> str:
    value = os.environ.get(options.imap_password_env)
    if not value:
        raise ConfigError(
            f"email.imap_password_env: the environment variable {options.imap_password_env} is "
            "not set. Fix: export it with the mailbox password."
        )
    return value


class ImapPoller:
    def __init__(self, inbox: EmailInbox, options: EmailSettings) -> None:
        if options.imap_host is None or options.imap_username is None:
            raise ConfigError("email.imap_host and email.imap_username: both are needed to poll.")
        self.inbox = inbox
        self.options = options
        self.password = imap_password(options)
        self.stopping = threading.Event()

    def run(self) -> None:
        log.info("email.polling", host=self.options.imap_host, folder=self.options.imap_folder)
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:  # the mailbox or the store unreachable: try again next time
                log.exception("email.poll_failed")
            self.stopping.wait(self.options.imap_poll_seconds)

    def poll_once(self) -> int:
        """Take what waits in the folder; returns how many mails were taken."""
        taken = 0
        with self._connect() as mailbox:
            status, _ = mailbox.select(_quoted(self.options.imap_folder))
            if status != "OK":
                raise imaplib.IMAP4.error(f"cannot select {self.options.imap_folder}")
            status, found = mailbox.uid("SEARCH", "UNDELETED", "NOT", "KEYWORD", TAKEN)
            for uid in UIDS.findall(found[0] or b"") if status == "OK" else []:
                if self.stopping.is_set():
                    break
                raw = _fetch(mailbox, uid)
                if raw is None:
                    continue  # expunged since the search
                received = self.inbox.receive(raw, None, self._recipients(raw))
                self._mark_taken(mailbox, uid)
                log.info("email.taken", uid=uid.decode(), kind=received.kind)
                taken += 1
            if self.options.imap_move_to is None:
                return taken
            mailbox.expunge()
        return taken

    def _connect(self) -> imaplib.IMAP4:
        options = self.options
        host = options.imap_host or ""
        mailbox: imaplib.IMAP4
        if options.imap_security == "ssl":
            context = ssl.create_default_context()
            mailbox = imaplib.IMAP4_SSL(host, options.imap_port, ssl_context=context, timeout=60)
        else:
            mailbox = imaplib.IMAP4(host, options.imap_port, timeout=60)
            if options.imap_security == "starttls":
                mailbox.starttls(ssl.create_default_context())
        mailbox.login(options.imap_username or "", self.password)
        return mailbox

    def _mark_taken(self, mailbox: imaplib.IMAP4, uid: bytes) -> None:
        mailbox.uid("STORE", uid.decode(), "+FLAGS", f"({TAKEN} \\Seen)")
        target = self.options.imap_move_to
        if target is None:
            return
        if b"MOVE" in b" ".join(_capabilities(mailbox)):
            mailbox.uid("MOVE", uid.decode(), _quoted(target))
        else:
            mailbox.uid("COPY", uid.decode(), _quoted(target))
            mailbox.uid("STORE", uid.decode(), "+FLAGS", "(\\Deleted)")

    def _recipients(self, raw: bytes) -> list[str]:
        """The mailbox the mail was delivered to, as the delivering server recorded it."""
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        found = re.findall(
            rb"(?im)^(?:Delivered-To|X-Original-To):\s*<?([^\s<>]+@[^\s<>]+)>?", head
        )
        return [address.decode("ascii", "replace").lower() for address in found]


def _fetch(mailbox: imaplib.IMAP4, uid: bytes) -> bytes | None:
    status, data = mailbox.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
    if status != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _capabilities(mailbox: imaplib.IMAP4) -> list[bytes]:
    return [c.encode() if isinstance(c, str) else c for c in mailbox.capabilities]


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
