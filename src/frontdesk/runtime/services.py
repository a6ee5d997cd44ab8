"""Wiring: every part built from settings, in the one place that knows the concrete classes."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from structlog.contextvars import bound_contextvars

from frontdesk.agents.coordinator import Coordinator, RoutingPolicy
from frontdesk.agents.escalation import Drafter, EscalationAgent
from frontdesk.agents.intent import IntentAgent
from frontdesk.agents.realtime import RealtimeAgent, RealtimeResponder
from frontdesk.agents.response import PartialAnswers, ResponseAgent
from frontdesk.channels.live import LiveFeed, LocalLiveFeed, open_live_feed
from frontdesk.commerce.base import Commerce, Crm
from frontdesk.commerce.embedded import EmbeddedShop
from frontdesk.commerce.loading import ensure_demo_shop
from frontdesk.confidence.calibrator import ReplyCalibrator
from frontdesk.confidence.registry import load_current as load_current_calibrator
from frontdesk.confidence.scorer import ReplyScorer
from frontdesk.config import Settings, secret
from frontdesk.contracts import Channel, InboundMessage
from frontdesk.handoffs.service import HandoffService
from frontdesk.keys import secret_key
from frontdesk.knowledge.dense import (
    MiniLmQuestionEncoder,
    embed_missing,
    has_vectors,
    store_demo_vectors,
)
from frontdesk.knowledge.index import (
    HybridIndex,
    KnowledgeIndex,
    RefreshingIndex,
    load_passages,
)
from frontdesk.knowledge.ingest import ingest_demo
from frontdesk.llm.answering import build_answerer
from frontdesk.llm.models import build_model, is_hosted
from frontdesk.llm.usage import UsageMeter
from frontdesk.observability.metrics import observed_llm_calls
from frontdesk.observability.tracing import MessageTracer, otlp_tracer
from frontdesk.queue import Queue, open_queue
from frontdesk.runtime.pipeline import Pipeline
from frontdesk.runtime.worker import Worker
from frontdesk.store.database import create_store_engine, migrate
from frontdesk.store.intake import Accepted
from frontdesk.store.repository import Store
from frontdesk.tools.toolbox import Toolbox
from frontdesk.tools.verification import EmailCodes
from frontdesk.training.models_dir import load_active

log = structlog.get_logger(__name__)


@dataclass
class Intake:
    """Accepting a message: stored, then enqueued, before the caller is answered."""

    store: Store
    queue: Queue
    tracer: MessageTracer | None = None

    def accept(
        self,
        text: str,
        channel: Channel,
        conversation_id: str | None = None,
        idempotency_key: str | None = None,
        customer_ref: str | None = None,
        before_enqueue: Callable[[Accepted], None] | None = None,
    ) -> Accepted:
        """`before_enqueue` stores what a channel keeps beside the message (an email's
        headers) before a worker can see it."""
        started_ns = time.time_ns()
        accepted = self.store.accept_message(
            text, channel, conversation_id, idempotency_key, customer_ref
        )
        message = accepted.message
        with bound_contextvars(message_id=message.id, conversation_id=message.conversation_id):
            if before_enqueue is not None:
                before_enqueue(accepted)
            if accepted.needs_enqueue:
                self.queue.enqueue([message.id])
                self.store.mark_enqueued([message.id])
            log.info("message.accepted", channel=channel, duplicate=not accepted.created)
        if self.tracer is not None:
            self.tracer.accepted(message, started_ns, accepted.created)
        return accepted


@dataclass
class Services:
    settings: Settings
    store: Store
    queue: Queue
    intake: Intake
    pipeline: Pipeline
    live: LiveFeed = field(default_factory=LocalLiveFeed)
    processed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def handoffs(self) -> HandoffService:
        return HandoffService(self.store, self.intent_labels)

    def intent_labels(self) -> list[str]:
        """The intents the serving model knows (a person's correction must be one of them)."""
        return list(self.pipeline.intent_agent.labels)

    def notify_processed(self) -> None:
        """Wake readers waiting for a decision (only those of this process can be woken)."""
        with self.processed:
            self.processed.notify_all()

    def worker(self, name: str | None = None) -> Worker:
        options = self.settings
        return Worker(
            self.store,
            self.queue,
            self.pipeline,
            consumer=name or f"{socket.gethostname()}-{os.getpid()}",
            batch_size=options.worker.batch_size,
            idle_poll_seconds=options.worker.idle_poll_seconds,
            lease_seconds=options.queue.lease_seconds,
            on_processed=self.notify_processed,
            retention=timedelta(days=days) if (days := options.store.retention_days) else None,
        )

    def close(self) -> None:
        if self.intake.tracer is not None:
            self.intake.tracer.shutdown()
        self.queue.close()
        self.live.close()
        self.store.engine.dispose()


def open_store(settings: Settings) -> Store:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.store_url)
    return Store(create_store_engine(settings.store_url))


def open_shop(settings: Settings, store: Store) -> tuple[Commerce, Crm]:
    """The shop and CRM named by config; the embedded ones are filled with the demo shop."""
    commerce: Commerce
    crm: Crm
    embedded = EmbeddedShop(store)
    if settings.commerce.backend == "shopify":
        from frontdesk.commerce.shopify import ShopifyCommerce

        options = settings.commerce
        storefront = os.environ.get(options.storefront_token_env)
        commerce = ShopifyCommerce(
            options.shop_url or "",
            secret(options.access_token_env, "commerce.access_token_env"),
            api_version=options.api_version,
            storefront_access_token=storefront,
            timeout=options.timeout_seconds,
        )
    else:
        ensure_demo_shop(store)
        commerce = embedded
    if settings.crm.backend == "salesforce":
        from frontdesk.commerce.salesforce import SalesforceCrm

        org = settings.crm
        crm = SalesforceCrm(
            org.instance_url or "",
            org.client_id or "",
            secret(org.client_secret_env, "crm.client_secret_env"),
            api_version=org.api_version,
            external_id_field=org.external_id_field,
            timeout=org.timeout_seconds,
        )
    else:
        crm = embedded
    return commerce, crm


def escalation_drafter(settings: Settings, store: Store) -> Drafter | None:
    name = settings.llm.escalation_model or settings.llm.model
    model = build_model(settings.llm, name)
    if model is None:
        return None
    from frontdesk.llm.escalation import LlmDrafter

    meter = UsageMeter(settings.llm, name, "escalation", observed_llm_calls(store.record_llm_call))
    return LlmDrafter(model, meter, redact_personal_data=is_hosted(settings.llm))


def toolbox_of(settings: Settings, store: Store, commerce: Commerce, crm: Crm) -> Toolbox:
    """The real-time agent's tools, with emailed codes when `[realtime] verify` asks for them."""
    codes = None
    if settings.realtime.verify == "email_code":
        codes = EmailCodes(
            store,
            secret_key(settings).encode(),
            settings.company_name,
            timedelta(minutes=settings.realtime.code_minutes),
        )
    return Toolbox(commerce, crm, settings.limits.identification_attempts, codes)


def realtime_agent(settings: Settings, store: Store, toolbox: Toolbox) -> RealtimeResponder:
    rules = RealtimeAgent(toolbox, frozenset(settings.routing.handoff_intents))
    model = build_model(settings.llm)
    if model is None:
        return rules
    from frontdesk.agents.realtime.llm import LlmRealtimeAgent

    sink = observed_llm_calls(store.record_llm_call)
    meter = UsageMeter(settings.llm, settings.llm.model, "realtime", sink)
    return LlmRealtimeAgent(
        toolbox, model, fallback=rules, meter=meter, budget_ms=settings.realtime.llm_budget_ms
    )


def policy_of(settings: Settings, calibrator: ReplyCalibrator | None = None) -> RoutingPolicy:
    """The routing policy of the settings; with a fitted reply-confidence calibrator the automatic
    threshold rises to what meets `routing.max_wrong_auto_rate` on its fitting rows."""
    routing = settings.routing
    auto = routing.auto_threshold
    if calibrator is not None:
        auto = max(auto, calibrator.threshold_for(routing.max_wrong_auto_rate))
    return RoutingPolicy(
        auto,
        routing.human_threshold,
        frozenset(routing.handoff_intents),
        tuple(routing.rules),
        routing.business_hours,
        routing.sla,
    )


def knowledge_index(settings: Settings, store: Store) -> KnowledgeIndex:
    """BM25 plus the MiniLM vectors `frontdesk ingest` stored, rebuilt when the articles change.
    Only a store holding vectors needs the model: it loads in the background so the first
    question does not wait for it."""
    options = settings.knowledge
    encoder = MiniLmQuestionEncoder() if options.dense == "minilm" else None
    index = RefreshingIndex(
        store,
        lambda: HybridIndex(store, encoder, options.dense_weight),
        options.refresh_seconds,
    )
    if encoder is not None and options.dense_weight > 0 and has_vectors(store, encoder.name):
        # Not a daemon: a process that ends while ONNX Runtime is inside the warm-up is aborted
        # ("terminate called without an active exception"); exit waits the second it takes.
        threading.Thread(target=encoder.warm_up, name="minilm-warm-up").start()
    return index


def intent_agent(settings: Settings) -> IntentAgent:
    """The serving intent model, with the request-kind model shipped in the package and the
    language check for the configured languages."""
    from frontdesk.language import LanguageDetector
    from frontdesk.training.request_kind import shipped_request_model

    return IntentAgent(
        load_active(settings.data_dir),
        request_kind=shipped_request_model(),
        languages=LanguageDetector(frozenset(settings.language.supported)),
    )


def partial_answers_to(live: LiveFeed) -> PartialAnswers:
    """Answers being written go to the customer's open chat as `draft` events."""

    def publish(message: InboundMessage, text: str) -> None:
        live.publish(message.conversation_id, {"message_id": message.id, "text": text})

    return publish


def build_services(settings: Settings) -> Services:
    live = open_live_feed(settings)
    store = open_store(settings)
    if not load_passages(store):
        ingest_demo(store)
        if settings.knowledge.dense == "minilm" and settings.knowledge.dense_weight > 0:
            # The demo articles' vectors ship with them; anything they miss is encoded now.
            store_demo_vectors(store)
            embed_missing(store, MiniLmQuestionEncoder())
    commerce, crm = open_shop(settings, store)
    routing = settings.routing
    calibrator = load_current_calibrator(settings.data_dir)
    intents = intent_agent(settings)
    endpoint = settings.observability.otlp_endpoint
    tracer = otlp_tracer(endpoint) if endpoint else None
    pipeline = Pipeline(
        store,
        intents,
        ResponseAgent(
            knowledge_index(settings, store),
            settings.company_name,
            routing.min_retrieval_score,
            build_answerer(settings.llm, observed_llm_calls(store.record_llm_call)),
            partial=partial_answers_to(live),
            topics=intents.classifier.predict,
        ),
        Coordinator(policy_of(settings, calibrator)),
        realtime_agent(settings, store, toolbox_of(settings, store, commerce, crm)),
        EscalationAgent(commerce, escalation_drafter(settings, store)),
        scorer=ReplyScorer(calibrator),
        tracer=tracer,
    )
    queue = open_queue(settings)
    return Services(settings, store, queue, Intake(store, queue, tracer), pipeline, live)
