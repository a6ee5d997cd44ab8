"""What every part of the store shares: the engine, one transaction per call, ids, audit rows
and the rows a reply leaves behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Update, text
from sqlalchemy.orm import Session, sessionmaker

from frontdesk.clock import utcnow
from frontdesk.contracts import Source
from frontdesk.store.email_replies import queue_reply_email
from frontdesk.store.tables import AuditRow, ReplyRow

BOT_AUTHOR = "bot"


def new_id() -> str:
    return uuid.uuid4().hex


class StoreBase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


def changed_rows(session: Session, statement: Update) -> int:
    """How many rows an UPDATE changed. Session.execute is typed to return a plain Result for
    any statement; for an UPDATE it is a CursorResult, which carries the count."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def audit(actor: str, action: str, subject_id: str, data: dict[str, Any]) -> AuditRow:
    return AuditRow(at=utcnow(), actor=actor, action=action, subject_id=subject_id, data=data)


def add_reply(
    session: Session,
    conversation_id: str,
    message_id: str,
    author: str,
    text_: str,
    sources: list[Source],
    now: datetime,
) -> None:
    reply = ReplyRow(
        id=new_id(),
        conversation_id=conversation_id,
        message_id=message_id,
        author=author,
        text=text_,
        sources=[source.model_dump(mode="json") for source in sources],
        created_at=now,
    )
    session.add(reply)
    session.add(audit(author, "reply.sent", reply.id, {"message_id": message_id}))
    queue_reply_email(session, reply, bot=author == BOT_AUTHOR, now=now)
