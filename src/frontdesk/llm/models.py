"""The configured language model, through pydantic-ai: who to call is config, not code.

Each provider only decides who authenticates and where the server is; the wire format is
pydantic-ai's (OpenAI chat completions for OpenAI-compatible servers and Ollama, the Converse API
for Bedrock), so one model class serves every server of its kind.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError
from pydantic_ai.exceptions import AgentRunError
from pydantic_ai.models import Model

from frontdesk.config import LlmSettings

OLLAMA_URL = "http://127.0.0.1:11434/v1"

# A failing provider is a run-time condition the agents answer with their offline path:
# pydantic-ai maps HTTP and transport errors to AgentRunError; botocore raises its own
# errors for missing credentials or a broken endpoint before any HTTP exchange.
PROVIDER_FAILURES: tuple[type[BaseException], ...] = (
    AgentRunError,
    BotoCoreError,
    OSError,
    TimeoutError,
)


def build_model(settings: LlmSettings, name: str | None = None) -> Model | None:
    """`name` (default `settings.model`) on the configured server; None when no model is
    configured: every agent then works offline."""
    if settings.provider == "none":
        return None
    if settings.provider == "bedrock":
        return _bedrock(settings, name or settings.model)
    return _openai_compatible(settings, name or settings.model)


def is_hosted(settings: LlmSettings) -> bool:
    """Whether text sent to the model leaves the machine or the private network: then personal
    data is redacted first."""
    if settings.provider == "none":
        return False
    if settings.provider == "bedrock":
        return True
    host = urlparse(settings.base_url or OLLAMA_URL).hostname or ""
    if host == "localhost":
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name: assume it resolves outside
    return not (address.is_loopback or address.is_private)


def _openai_compatible(settings: LlmSettings, name: str) -> Model:
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    # Local servers (vLLM, llama.cpp, Ollama) accept any key; the SDK insists on one.
    api_key = os.environ.get(settings.api_key_env) or "not-needed"
    client = AsyncOpenAI(
        base_url=settings.base_url or OLLAMA_URL,
        api_key=api_key,
        timeout=settings.timeout_seconds,
        max_retries=settings.max_retries,
    )
    return OpenAIChatModel(name, provider=OpenAIProvider(openai_client=client))


def _bedrock(settings: LlmSettings, name: str) -> Model:
    import boto3
    from botocore.config import Config
    from pydantic_ai.models.bedrock import BedrockConverseModel
    from pydantic_ai.providers.bedrock import BedrockProvider

    # The client is built here rather than by BedrockProvider so that the configured retries
    # reach botocore (the provider only takes timeouts).
    session = boto3.Session(profile_name=settings.profile, region_name=settings.region)
    client = session.client(
        "bedrock-runtime",
        endpoint_url=settings.base_url,
        config=Config(
            connect_timeout=min(settings.timeout_seconds, 10.0),
            read_timeout=settings.timeout_seconds,
            retries={"max_attempts": settings.max_retries + 1, "mode": "standard"},
        ),
    )
    return BedrockConverseModel(name, provider=BedrockProvider(bedrock_client=client))
