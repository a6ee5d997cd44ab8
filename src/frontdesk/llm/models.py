"""The configured language model, through pydantic-ai: who to call is config, not code."""

from __future__ import annotations

import os

from openai import AsyncOpenAI
from pydantic_ai.models import Model
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from frontdesk.config import LlmSettings

OLLAMA_URL = "http://127.0.0.1:11434/v1"


def build_model(settings: LlmSettings, name: str | None = None) -> Model | None:
    """`name` (default `settings.model`) on the configured server; None when no model is
    configured: every agent then works offline."""
    if settings.provider == "none":
        return None
    base_url = settings.base_url or OLLAMA_URL
    # Local servers (vLLM, llama.cpp, Ollama) accept any key; the SDK insists on one.
    api_key = os.environ.get(settings.api_key_env) or "not-needed"
    client = AsyncOpenAI(
        base_url=base_url,
        api_key=api_key,
        timeout=settings.timeout_seconds,
        max_retries=settings.max_retries,
    )
    return OpenAIChatModel(name or settings.model, provider=OpenAIProvider(openai_client=client))
