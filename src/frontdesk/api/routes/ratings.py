"""Customer satisfaction: the chat's one-click rating, and the page an email's rating link opens
(docs/observability.md#customer-satisfaction)."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from frontdesk.api.responses import A_BODY, ANY_REQUEST, INVALID, refusals
from frontdesk.http.deps import ID_PATTERN, ServicesDep
from frontdesk.http.security import TOKEN_HEADER, ConversationToken, same_secret, token_matches
from frontdesk.keys import rating_token
from frontdesk.runtime.services import Services
from frontdesk.store.errors import UnknownConversation
from frontdesk.store.ratings import RatingSource

router = APIRouter(tags=["ratings"])
ConversationId = Annotated[str, Path(pattern=ID_PATTERN)]
Score = Annotated[int, Field(ge=1, le=5, description="1 (very bad) to 5 (very good)")]
NOTHING_TO_RATE = "nothing in this conversation has been answered yet"


class NewRating(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: Score


class Rating(BaseModel):
    conversation_id: str
    score: int


@router.post(
    "/v1/conversations/{conversation_id}/rating",
    response_model=Rating,
    responses=refusals(
        ANY_REQUEST,
        A_BODY,
        INVALID,
        {
            403: f"no {TOKEN_HEADER}, or not this conversation's",
            404: "unknown conversation",
            409: NOTHING_TO_RATE,
        },
    ),
)
def rate_conversation(
    conversation_id: ConversationId,
    rating: NewRating,
    request: Request,
    services: ServicesDep,
    token: ConversationToken = None,
) -> Rating:
    """The customer rates the conversation, 1 to 5; a new rating replaces the last."""
    if not token_matches(request.app.state.secret_key, conversation_id, token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"rating needs the {TOKEN_HEADER}")
    _rate(services, conversation_id, rating.score, "chat")
    return Rating(conversation_id=conversation_id, score=rating.score)


@router.get("/rate/{conversation_id}", response_class=HTMLResponse, include_in_schema=False)
def rating_page(
    conversation_id: ConversationId,
    request: Request,
    services: ServicesDep,
    score: Annotated[int, Query(ge=1, le=5)],
    t: Annotated[str, Query(max_length=64)],
) -> HTMLResponse:
    """The page an email's link opens: the score chosen, one button to send it. Opening the
    link records nothing, since mail scanners open links too."""
    _check_link(request, conversation_id, t)
    company = html.escape(services.settings.company_name)
    choices = "".join(
        f'<label><input type="radio" name="score" value="{n}"{" checked" if n == score else ""}>'
        f" {n}</label> "
        for n in range(1, 6)
    )
    return _page(
        company,
        f'<form method="post"><p>How did we do? 1 is very bad, 5 very good.</p>'
        f'<p>{choices}</p><input type="hidden" name="t" value="{html.escape(t)}">'
        '<button type="submit">Send my rating</button></form>',
    )


@router.post("/rate/{conversation_id}", response_class=HTMLResponse, include_in_schema=False)
def rating_sent(
    conversation_id: ConversationId,
    request: Request,
    services: ServicesDep,
    score: Annotated[int, Form(ge=1, le=5)],
    t: Annotated[str, Form(max_length=64)],
) -> HTMLResponse:
    _check_link(request, conversation_id, t)
    _rate(services, conversation_id, score, "email")
    company = html.escape(services.settings.company_name)
    return _page(company, f"<p>Thank you: you rated us {score} out of 5.</p>")


def _check_link(request: Request, conversation_id: str, token: str) -> None:
    if not same_secret(rating_token(request.app.state.secret_key, conversation_id), token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this rating link is not valid")


def _rate(services: Services, conversation_id: str, score: int, source: RatingSource) -> None:
    try:
        rated = services.store.rate(conversation_id, score, source)
    except UnknownConversation:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation") from None
    if not rated:
        raise HTTPException(status.HTTP_409_CONFLICT, NOTHING_TO_RATE)


def _page(company: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{company} · Your rating</title></head>"
        f'<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 36em; margin: 3em auto">'
        f"<h1>{company}</h1>{body}</body></html>"
    )
