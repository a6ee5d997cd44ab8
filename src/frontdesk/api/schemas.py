"""Request and response bodies of the HTTP API; agents exchange frontdesk.contracts instead."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from frontdesk.contracts import ConversationView, HandoffStatus, OutboundReply, Outcome, Source
from frontdesk.http.deps import ID_PATTERN
from frontdesk.store.base import BOT_AUTHOR

# What a customer sees as the author of a person's reply: never the person's sign-in name.
SUPPORT_TEAM = "agent:support"


# What the document says of every text field of a body: no NUL (Body refuses one). A lone
# surrogate cannot be written in a JSON schema's pattern; no generator of valid text makes one.
NO_NUL = r"^[^\x00]*$"
# A message or a person's reply: also not blank, as `str.strip` sees white space (the routes
# strip the text); Python's `\s` is the same set of characters.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"


def _document_storable_text(schema: dict[str, Any]) -> None:
    """Every text property of a body says it takes no NUL, unless it says more already."""
    for prop in schema.get("properties", {}).values():
        for variant in (prop, *prop.get("anyOf", ())):
            if variant.get("type") == "string" and not {"pattern", "enum", "const"} & set(variant):
                variant["pattern"] = NO_NUL


class Body(BaseModel):
    """A request body: no unknown fields, and text a database can store."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_storable_text)

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
        description="what the customer wrote; not blank, at most server.max_message_chars "
        "characters (the document's maxLength)",
        json_schema_extra={"pattern": NOT_BLANK},
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


def _name_one(schema: dict[str, Any]) -> None:
    """An unlock names a username or an address (null names neither): 422 otherwise."""
    _document_storable_text(schema)
    schema["anyOf"] = [
        {"required": [name], "properties": {name: {"type": "string"}}}
        for name in ("username", "address")
    ]


class Unlock(Body):
    """Whose failed sign-ins an admin forgets: an account's, a client address's, or both."""

    model_config = ConfigDict(json_schema_extra=_name_one)

    username: str | None = Field(None, min_length=1, max_length=100)
    address: str | None = Field(None, min_length=1, max_length=100)


class Unlocked(BaseModel):
    forgotten: dict[str, int] = Field(
        description="the failed sign-ins forgotten, by `account:NAME` and `address:IP`; a key "
        "that had none is left out"
    )


class HumanReply(Body):
    text: str = Field(min_length=1, max_length=20_000, json_schema_extra={"pattern": NOT_BLANK})
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


class Problem(BaseModel):
    """Why a request was refused (any 4xx but a 422 of the request's fields), or a failure of
    ours (500)."""

    detail: str


class FieldProblem(BaseModel):
    field: str = Field(description="where: `body.text`, `query.wait`, `path.conversation_id`…")
    reason: str


class InvalidRequest(BaseModel):
    """A 422: the fields that are not acceptable, each with its reason, or one sentence when the
    request is refused as a whole (`text is empty`, `name a username or an address`)."""

    detail: list[FieldProblem] | str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, str]


# The customer's view of a conversation: what was said and by whom, the articles an answer rests
# on, and whether a person is on it. Decisions, tool calls and results, handoff packets and staff
# names are for staff only (ConversationView).


class CustomerSource(BaseModel):
    """A help article an answer rests on."""

    title: str
    heading: str
    link: str | None = Field(description="the article's web address, when it was ingested from one")

    @classmethod
    def of(cls, source: Source) -> CustomerSource:
        link = source.document if source.document.startswith(("https://", "http://")) else None
        return cls(title=source.title, heading=source.heading, link=link)


class CustomerMessage(BaseModel):
    id: str
    text: str
    received_at: datetime


class CustomerReply(BaseModel):
    id: str
    in_reply_to: str
    author: Literal["bot", "agent:support"] = Field(
        description="`bot` for the assistant, `agent:support` for any person of the team"
    )
    text: str
    sources: list[CustomerSource]
    created_at: datetime

    @classmethod
    def of(cls, reply: OutboundReply) -> CustomerReply:
        return cls(
            id=reply.id,
            in_reply_to=reply.in_reply_to,
            author=BOT_AUTHOR if reply.author == BOT_AUTHOR else SUPPORT_TEAM,
            text=reply.text,
            sources=[CustomerSource.of(source) for source in reply.sources],
            created_at=reply.created_at,
        )


class CustomerHandoff(BaseModel):
    """A message a person answers instead of the bot."""

    message_id: str
    status: HandoffStatus


class CustomerConversation(BaseModel):
    id: str
    status: Literal["open", "waiting_for_person"]
    created_at: datetime
    messages: list[CustomerMessage]
    replies: list[CustomerReply]
    handoffs: list[CustomerHandoff]

    @classmethod
    def of(cls, view: ConversationView) -> CustomerConversation:
        return cls(
            id=view.id,
            status=view.status,
            created_at=view.created_at,
            messages=[
                CustomerMessage(id=m.id, text=m.text, received_at=m.received_at)
                for m in view.messages
            ],
            replies=[CustomerReply.of(reply) for reply in view.replies],
            handoffs=[
                CustomerHandoff(message_id=h.message_id, status=h.status) for h in view.handoffs
            ],
        )
