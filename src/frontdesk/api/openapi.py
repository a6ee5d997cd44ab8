"""The OpenAPI document of the app, with what the configuration decides in it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from frontdesk.api.schemas import NewMessage, NewMessageInConversation
from frontdesk.config import Settings


def document_configured_limits(app: FastAPI, settings: Settings) -> None:
    """The document says how long a message may be, as this server counts it
    (`server.max_message_chars`): the models only know that there is a limit."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        models = document["components"]["schemas"]
        for model in (NewMessage, NewMessageInConversation):
            text = models[model.__name__]["properties"]["text"]
            text["maxLength"] = settings.server.max_message_chars
        return document

    app.openapi = openapi  # type: ignore[method-assign]
