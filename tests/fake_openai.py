"""A local server speaking the OpenAI chat-completions protocol, answering from a script.

Each step of the script answers one request: `say(text)`, `tool_call(name, **arguments)`,
`{"status": 500}` for an error, `slow(step, seconds)` to answer late, and `reply_from(function)`
to answer with text computed from the request (e.g. quoting the passages it was sent). A request
with `"stream": true` gets the step as server-sent events: the text in chunks, tool calls as
deltas, then the usage when the client asked for it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic_ai.models import override_allow_model_requests

from server import free_port

USAGE = {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}


def tool_call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [(name, arguments)]}


def say(text: str) -> dict[str, Any]:
    return {"content": text}


def slow(step: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {**step, "delay": seconds}


def reply_from(function: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    return {"compute": function}


class FakeOpenAI:
    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post("/v1/chat/completions", response_model=None)(self._complete)

    async def _complete(self, request: Request) -> JSONResponse | StreamingResponse:
        body = await request.json()
        self.requests.append(body)
        if not self.script:
            return JSONResponse({"error": {"message": "script exhausted"}}, status_code=500)
        step = self.script.pop(0)
        await asyncio.sleep(step.get("delay", 0))
        if "compute" in step:
            step = say(step["compute"](body))
        if "status" in step:
            return JSONResponse({"error": {"message": "boom"}}, status_code=step["status"])
        if body.get("stream"):
            return StreamingResponse(self._events(body, step), media_type="text/event-stream")
        message: dict[str, Any] = {"role": "assistant", "content": step.get("content")}
        finish = "stop"
        if "tool_calls" in step:
            finish = "tool_calls"
            message["tool_calls"] = self._tool_calls(step)
        return JSONResponse(
            {
                **self._envelope(body, "chat.completion"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": USAGE,
            }
        )

    def _envelope(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": kind,
            "created": int(time.time()),
            "model": body["model"],
        }

    def _tool_calls(self, step: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "id": f"call_{len(self.requests)}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for i, (name, arguments) in enumerate(step["tool_calls"])
        ]

    async def _events(self, body: dict[str, Any], step: dict[str, Any]) -> AsyncIterator[str]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            event = {**self._envelope(body, "chat.completion.chunk"), "choices": [choice]}
            return f"data: {json.dumps(event)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        text = step.get("content") or ""
        for start in range(0, len(text), 8):  # several deltas, as a real server sends
            yield chunk({"content": text[start : start + 8]})
            await asyncio.sleep(0)
        finish = "stop"
        if "tool_calls" in step:
            finish = "tool_calls"
            for index, call in enumerate(self._tool_calls(step)):
                yield chunk({"tool_calls": [{"index": index, **call}]})
        yield chunk({}, finish)
        if body.get("stream_options", {}).get("include_usage"):
            usage = {**self._envelope(body, "chat.completion.chunk"), "choices": [], "usage": USAGE}
            yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"

    def tool_names_offered(self) -> set[str]:
        return {tool["function"]["name"] for tool in self.requests[0].get("tools", [])}


@contextmanager
def serve(fake: FakeOpenAI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        # The suite refuses model requests (conftest.py); this fake on loopback may be asked.
        with override_allow_model_requests(True):
            yield f"http://127.0.0.1:{port}/v1"
    finally:
        # A reply still being held back (`slow`) was given up by the client; don't wait for it.
        server.should_exit = server.force_exit = True
        thread.join(5)
