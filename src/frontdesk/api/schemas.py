"""Request and response bodies of the HTTP API; agents exchange frontdesk.contracts instead."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from frontdesk.contracts import Outcome
from frontdesk.http.deps import ID_PATTERN


class Body(BaseModel):
    """A request body: no unknown fields, and text a database can store."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("contains a NUL character (U+0000), which is not accepted")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    "contains a lone surrogate (such as \\ud800), which is not valid Unicode"
                ) from None
        return value


class NewMessage(Body):
    text: str = Field(
        description="what the customer wrote; not blank, at most server.max_message_chars"
    )
    channel: Literal["web", "api"] = "api"


class NewMessageInConversation(NewMessage):
    conversation_id: str | None = Field(
        None, pattern=ID_PATTERN, description="omit to start a new conversation"
    )


class MessageAccepted(BaseModel):
    message_id: str
    conversation_id: str
    conversation_token: str = Field(
        description="send it as X-Conversation-Token to read or continue the conversation"
    )
    status: Literal["accepted", "duplicate"]


class SignIn(Body):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class StaffPublic(BaseModel):
    username: str
    role: str


class HumanReply(Body):
    text: str = Field(min_length=1, max_length=20_000)
    outcome: Outcome | None = Field(
        None, description="omit to infer sent_as_drafted / edited / rewritten from the draft"
    )
    correct_intent: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="the right intent (one the bot knows), with wrong_intent and only with it",
    )


class Escalation(Body):
    note: str = Field("", max_length=2000)


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, str]
