"""Settings from `frontdesk.toml` and `FRONTDESK_*` environment variables.

Precedence: explicit arguments > environment > TOML file > defaults. The TOML file is
`$FRONTDESK_CONFIG` when set (it must then exist), else `./frontdesk.toml` when present.
Nested keys map to environment variables with `__`: `queue.backend` is `FRONTDESK_QUEUE__BACKEND`.
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from frontdesk.channels.email.settings import EmailSettings
from frontdesk.limit_settings import LimitSettings
from frontdesk.llm.settings import RealtimeSettings, TokenPrice
from frontdesk.observability.report_settings import ReportSettings
from frontdesk.observability.settings import ObservabilitySettings
from frontdesk.rules import BusinessHours, Rule, ServiceLevels, default_rules
from frontdesk.server_settings import ServerSettings
from frontdesk.settings_section import Section

CONFIG_ENV = "FRONTDESK_CONFIG"
DEFAULT_CONFIG_FILE = Path("frontdesk.toml")


class ConfigError(Exception):
    """A setting has a value that frontdesk cannot start with; the message names key and fix."""


class StoreSettings(Section):
    url: str | None = Field(
        None,
        description=(
            "a SQLAlchemy URL such as sqlite:///data/frontdesk.db or "
            "postgresql+psycopg://user@127.0.0.1:5432/frontdesk; leave unset for SQLite "
            "in data_dir"
        ),
    )

    retention_days: int | None = Field(
        None,
        ge=1,
        description="erase conversations with no activity for this many days, 1 or more (the "
        "workers check hourly; `frontdesk customers purge` at once); unset, kept until erased",
    )

    @field_validator("url")
    @classmethod
    def _known_engine(cls, url: str | None) -> str | None:
        if url is None:
            return None
        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError as exc:
            raise ValueError(f"not a database URL ({exc})") from exc
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"database engine {backend!r} is not supported")
        return url


class QueueSettings(Section):
    backend: Literal["sqlite", "redis"] = Field(
        "sqlite", description="'sqlite' (embedded, durable) or 'redis' (Redis Streams)"
    )
    sqlite_path: Path | None = Field(
        None, description="a file path for the embedded queue; leave unset for data_dir/queue.db"
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", description="a Redis URL such as redis://127.0.0.1:6379/0"
    )
    name: str = Field(
        "frontdesk",
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="a key prefix of letters, digits, '_', '.', ':' or '-' (at most 64)",
    )
    lease_seconds: float = Field(
        30.0, gt=0, le=3600, description="seconds a worker may hold a message, above 0 and ≤ 3600"
    )
    max_attempts: int = Field(
        5, ge=1, le=100, description="deliveries before a message is dead-lettered, 1 to 100"
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, url: str) -> str:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url


class WorkerSettings(Section):
    enabled: bool = Field(True, description="true to process messages inside `frontdesk serve`")
    batch_size: int = Field(32, ge=1, le=1000, description="messages claimed at once, 1 to 1000")
    idle_poll_seconds: float = Field(
        0.2, gt=0, le=60, description="seconds between polls of an empty queue, above 0 and ≤ 60"
    )


class RoutingSettings(Section):
    auto_threshold: float = Field(
        0.9, gt=0, lt=1, description="confidence above which a reply is sent automatically (0–1)"
    )
    human_threshold: float = Field(
        0.7, gt=0, lt=1, description="confidence from which a human agent handles it (0–1)"
    )
    max_wrong_auto_rate: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="the share of automatic replies allowed to be wrong, above 0 and below 1: "
        "the reply-confidence calibration raises auto_threshold until its dev split meets it",
    )
    calibrate_at_start: bool = Field(
        True,
        description="true to fit the reply-confidence calibration when `serve` or `worker` "
        "starts without one (once, about a minute); false routes on the agents' own estimates "
        "until `frontdesk train` fits one",
    )
    min_retrieval_score: float = Field(
        0.12, ge=0, le=1, description="lowest knowledge-base match a reply may rest on (0–1)"
    )
    handoff_intents: list[str] = Field(
        default_factory=lambda: ["contact_human"],
        description="intent labels that always go to a human agent",
    )
    rules_file: Path | None = Field(
        None, description="a TOML file whose [[rules]] replace the rules given here"
    )
    rules: list[Rule] = Field(
        default_factory=default_rules,
        description="rules as in docs/routing.md: name, when, tier and the keys of that `when`",
    )
    business_hours: BusinessHours = Field(
        default_factory=BusinessHours,
        description="timezone (IANA), days (mon…sun), open and close (HH:MM, open before close)",
    )
    sla: ServiceLevels = Field(
        default_factory=ServiceLevels,
        description="human_minutes and specialist_minutes, whole minutes from 1 to 10080",
    )

    @model_validator(mode="before")
    @classmethod
    def _rules_from_file(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("rules_file"):
            return data
        path = Path(data["rules_file"])
        try:
            loaded = tomllib.loads(path.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"rules_file {path} cannot be read ({exc})") from None
        unknown = set(loaded) - {"rules"}
        if unknown:
            raise ValueError(f"rules_file {path}: unknown keys {sorted(unknown)}; only [[rules]]")
        return {**data, "rules": loaded.get("rules", [])}

    @model_validator(mode="after")
    def _ordered(self) -> RoutingSettings:
        if self.human_threshold >= self.auto_threshold:
            raise ValueError(
                f"human_threshold ({self.human_threshold}) must be below auto_threshold "
                f"({self.auto_threshold})"
            )
        return self


class LlmSettings(Section):
    provider: Literal["none", "openai", "ollama", "bedrock"] = Field(
        "none",
        description="'none' (offline agents only), 'openai' (any OpenAI-compatible server), "
        "'ollama' or 'bedrock' (AWS Bedrock Converse API)",
    )
    base_url: str | None = Field(
        None,
        description="the server's API root, e.g. http://127.0.0.1:8080/v1; for ollama the "
        "default is http://127.0.0.1:11434/v1; for bedrock an endpoint URL that replaces the "
        "region's (a VPC endpoint)",
    )
    model: str = Field(
        "gpt-4o-mini",
        min_length=1,
        description="the model name the server knows (for bedrock a model or inference-profile "
        "id); the response and real-time agents use it",
    )
    escalation_model: str | None = Field(
        None, min_length=1, description="a stronger model for escalation drafts; default: model"
    )
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="the name of the environment variable holding the API key"
    )
    region: str | None = Field(
        None, min_length=1, description="the AWS region of Bedrock, e.g. eu-central-1"
    )
    profile: str | None = Field(
        None,
        min_length=1,
        description="an AWS profile name for Bedrock; unset, boto3's usual credential chain",
    )
    timeout_seconds: float = Field(
        20.0, gt=0, le=600, description="seconds one model call may take, above 0 and ≤ 600"
    )
    max_retries: int = Field(2, ge=0, le=10, description="retries of a failed call, 0 to 10")
    latency_budget_seconds: float = Field(
        8.0,
        gt=0,
        le=600,
        description="seconds a customer-facing answer may take in all (retries included) "
        "before the offline answer is used, above 0 and ≤ 600",
    )
    prices: dict[str, TokenPrice] = Field(
        default_factory=dict,
        description="a table per model name with input_per_1k and output_per_1k, the prices "
        "that turn recorded token usage into cost",
    )

    @model_validator(mode="after")
    def _provider_needs_location(self) -> LlmSettings:
        if self.provider == "openai" and not self.base_url:
            raise ValueError("provider 'openai' needs base_url (the server's /v1 root)")
        if self.provider == "bedrock" and not self.region:
            raise ValueError("provider 'bedrock' needs region (e.g. eu-central-1)")
        return self


class CommerceSettings(Section):
    backend: Literal["embedded", "shopify"] = Field(
        "embedded", description="'embedded' (the shop in frontdesk's store) or 'shopify'"
    )
    shop_url: str | None = Field(
        None, description="the shop's admin URL, e.g. https://your-shop.myshopify.com"
    )
    access_token_env: str = Field(
        "SHOPIFY_ACCESS_TOKEN", description="the environment variable holding the Admin API token"
    )
    storefront_token_env: str = Field(
        "SHOPIFY_STOREFRONT_TOKEN",
        description="the environment variable holding the Storefront token (password resets)",
    )
    api_version: str = Field("2025-10", description="a Shopify API version such as 2025-10")
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="seconds per call, ≤ 120")

    @model_validator(mode="after")
    def _shopify_needs_url(self) -> CommerceSettings:
        if self.backend == "shopify" and not self.shop_url:
            raise ValueError("backend 'shopify' needs shop_url")
        return self


class CrmSettings(Section):
    backend: Literal["embedded", "salesforce"] = Field(
        "embedded", description="'embedded' (cases in frontdesk's store) or 'salesforce'"
    )
    instance_url: str | None = Field(
        None, description="the org's URL, e.g. https://your-org.my.salesforce.com"
    )
    client_id: str | None = Field(None, description="the connected app's consumer key")
    client_secret_env: str = Field(
        "SALESFORCE_CLIENT_SECRET",
        description="the environment variable holding the connected app's consumer secret",
    )
    api_version: str = Field("v62.0", description="a REST API version such as v62.0")
    external_id_field: str = Field(
        "Frontdesk_Key__c", description="the Case external-id field that makes creation idempotent"
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="seconds per call, ≤ 120")

    @model_validator(mode="after")
    def _salesforce_needs_org(self) -> CrmSettings:
        if self.backend == "salesforce" and not (self.instance_url and self.client_id):
            raise ValueError("backend 'salesforce' needs instance_url and client_id")
        return self


class KnowledgeSettings(Section):
    dense: Literal["minilm", "off"] = Field(
        "minilm",
        description="minilm to rank by MiniLM vectors as well as BM25 (vectors are made by "
        "`frontdesk ingest`), off for BM25 alone",
    )
    dense_weight: float = Field(
        0.8, ge=0, le=1, description="share of the vector cosines in the hybrid ranking (0–1)"
    )
    refresh_seconds: float = Field(
        5.0,
        gt=0,
        description="how often a worker looks for ingested, changed or removed articles (seconds)",
    )


class LanguageSettings(Section):
    supported: list[str] = Field(
        default_factory=lambda: ["en"],
        min_length=1,
        description="ISO 639-1 codes of the languages the models and articles cover; a message "
        "reliably in another goes to a human agent",
    )

    @field_validator("supported")
    @classmethod
    def _known_codes(cls, codes: list[str]) -> list[str]:
        if any(not re.fullmatch(r"[a-z]{2}", code) for code in codes):
            raise ValueError("must be two-letter ISO 639-1 codes such as 'en' or 'de'")
        return codes


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FRONTDESK_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Field(Path("data"), description="a writable directory for the embedded data")
    company_name: str = Field(
        "Harbor Goods", min_length=1, max_length=80, description="the name the assistant speaks for"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="one of debug, info, warning, error"
    )
    server: ServerSettings = ServerSettings()
    store: StoreSettings = StoreSettings()
    queue: QueueSettings = QueueSettings()
    worker: WorkerSettings = WorkerSettings()
    routing: RoutingSettings = RoutingSettings()
    llm: LlmSettings = LlmSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    commerce: CommerceSettings = CommerceSettings()
    crm: CrmSettings = CrmSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    language: LanguageSettings = LanguageSettings()
    limits: LimitSettings = LimitSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    email: EmailSettings = EmailSettings()
    report: ReportSettings = ReportSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
        )

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite:///{self.data_dir / 'frontdesk.db'}"

    @property
    def queue_path(self) -> Path:
        return self.queue.sqlite_path or self.data_dir / "queue.db"


def config_file() -> Path | None:
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one ConfigError that names key and fix."""
    path = config_file()
    if path is not None and not path.is_file():
        raise ConfigError(f"{CONFIG_ENV}={path}: no such file. Fix: point it at a frontdesk.toml.")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path)) from None
    except ValueError as exc:  # malformed TOML surfaces as a decode error
        message = f"{path}: cannot be read as TOML ({exc}). Fix: correct its syntax."
        raise ConfigError(message) from None


def secret(variable: str, key: str) -> str:
    """A secret named by the config, read from the environment at start-up."""
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"{key}: the environment variable {variable} is not set. Fix: export it.")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def _explain(exc: ValidationError, path: Path | None) -> str:
    where = f"{path} or the environment" if path else "the environment"
    lines = [f"invalid configuration (from {where}):"]
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc) or "(root)"
        env = "FRONTDESK_" + "__".join(loc).upper()
        fix = (
            "nothing: remove it or check its spelling"
            if error["type"] == "extra_forbidden"
            else _fix_for(loc)
        )
        value = error.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        lines.append(f"  {key}{shown}: {error['msg']}.")
        lines.append(f"    Fix: set {key} (env {env}) to {fix}.")
    return "\n".join(lines)


def _fix_for(loc: list[str]) -> str:
    model: type[BaseModel] = Settings
    description = None
    for part in loc:
        field = model.model_fields.get(part)
        if field is None:
            break  # a list index or a rule's `when`: the enclosing field's description applies
        description = field.description
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return description or "a valid value"
