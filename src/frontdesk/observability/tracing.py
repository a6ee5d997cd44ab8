"""OpenTelemetry traces of each message, off by default (`[observability] otlp_endpoint`,
docs/observability.md#traces).

One message is one trace, across the API and the workers, without passing a trace context
through the queue: the trace id *is* the message id (32 hex digits, 128 bits), and the intake's
span id is derived from it, so the worker that decides the message later, in another process,
builds the same parent and its spans join the intake's. The worker's spans are drawn from the
stage times the pipeline measures and stores (`latency_ms`), one span per stage in order, so a
trace shows exactly what the audit record says. Spans carry ids, channel, intent and tier, never
the customer's text.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from frontdesk.contracts import InboundMessage, TurnOutcome

_trace_id: ContextVar[int | None] = ContextVar("frontdesk_trace_id", default=None)
_span_id: ContextVar[int | None] = ContextVar("frontdesk_span_id", default=None)


class MessageIds(IdGenerator):
    """Random ids, except while a message's intake span is started: then its own."""

    def generate_trace_id(self) -> int:
        return _trace_id.get() or random.getrandbits(128)

    def generate_span_id(self) -> int:
        return _span_id.get() or random.getrandbits(64)


def trace_id_of(message_id: str) -> int:
    return int(message_id, 16)


def intake_span_id(message_id: str) -> int:
    return int.from_bytes(hashlib.sha256(message_id.encode()).digest()[:8], "big") or 1


class MessageTracer:
    def __init__(self, exporter: SpanExporter) -> None:
        version = importlib.metadata.version("frontdesk")
        resource = Resource.create({"service.name": "frontdesk", "service.version": version})
        self.provider = TracerProvider(resource=resource, id_generator=MessageIds())
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("frontdesk")

    def accepted(self, message: InboundMessage, started_ns: int, created: bool) -> None:
        """The intake's span: stored and queued, from `started_ns` until now."""
        attributes: dict[str, str | bool] = {
            "frontdesk.message_id": message.id,
            "frontdesk.conversation_id": message.conversation_id,
            "frontdesk.channel": message.channel,
            "frontdesk.duplicate": not created,
        }
        # A duplicate post is a span of its own in the first post's trace.
        span_id = intake_span_id(message.id) if created else None
        with _ids(trace_id_of(message.id), span_id):
            span = self.tracer.start_span(
                "message.accept", kind=SpanKind.SERVER, start_time=started_ns, attributes=attributes
            )
        span.end()

    def decided(self, outcome: TurnOutcome) -> None:
        """The worker's spans of a stored outcome: one for the whole, one per measured stage."""
        message = outcome.message
        parent = NonRecordingSpan(
            SpanContext(
                trace_id=trace_id_of(message.id),
                span_id=intake_span_id(message.id),
                is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
        )
        start = int(message.received_at.timestamp() * 1e9)
        decide = self.tracer.start_span(
            "message.decide",
            context=trace.set_span_in_context(parent),
            kind=SpanKind.CONSUMER,
            start_time=start,
            attributes={
                "frontdesk.message_id": message.id,
                "frontdesk.conversation_id": message.conversation_id,
                "frontdesk.channel": message.channel,
                "frontdesk.intent": outcome.intent.label,
                "frontdesk.tier": outcome.decision.tier,
            },
        )
        within = trace.set_span_in_context(decide)
        moment = start
        for stage, milliseconds in outcome.latency_ms.items():
            end = moment + int(milliseconds * 1e6)
            self.tracer.start_span(stage, context=within, start_time=moment).end(end_time=end)
            moment = end
        decide.end(end_time=max(moment, time.time_ns()))

    def shutdown(self) -> None:
        """Send what is buffered and stop."""
        self.provider.shutdown()


@contextmanager
def _ids(trace_id: int, span_id: int | None) -> Iterator[None]:
    trace_token, span_token = _trace_id.set(trace_id), _span_id.set(span_id)
    try:
        yield
    finally:
        _trace_id.reset(trace_token)
        _span_id.reset(span_token)


def otlp_tracer(endpoint: str) -> MessageTracer:
    """Traces sent to an OTLP/HTTP collector at `endpoint` (its base URL, as in
    OTEL_EXPORTER_OTLP_ENDPOINT: the traces go to `{endpoint}/v1/traces`)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return MessageTracer(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces"))
