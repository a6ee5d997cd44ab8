"""Issue 18, point 2: with `[observability] otlp_endpoint` each message is one OpenTelemetry
trace, from the intake through every stage the worker measured, sent over OTLP/HTTP to a
collector; here a real one on loopback, decoding the protocol's protobuf."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from frontdesk.config import ConfigError, load_settings
from frontdesk.observability.tracing import intake_span_id, trace_id_of
from frontdesk.runtime.services import build_services
from realtime_chat import Chat, find


class Collector(BaseHTTPRequestHandler):
    spans: list[Span]
    paths: list[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        self.paths.append(self.path)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(scope.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, type[Collector]]]:
    handler = type("Received", (Collector,), {"spans": [], "paths": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_each_message_is_one_trace_with_a_span_per_stage(
    data_dir: Path, collector: tuple[str, type[Collector]]
) -> None:
    url, received = collector
    customer, _ = find("delivered")
    lines = ["has my package shipped yet?", f"my email is {customer.email}", "do you gift wrap?"]
    services = build_services(
        load_settings(data_dir=data_dir, observability={"otlp_endpoint": url})
    )
    try:
        chat = Chat(services)
        for line in lines:
            chat.say(line, expect_auto=False)
        view = services.store.conversation(chat.conversation or "")
    finally:
        services.close()  # sends what the batch processor holds

    assert set(received.paths) == {"/v1/traces"}
    by_trace: dict[int, list[Span]] = {}
    for span in received.spans:
        by_trace.setdefault(int.from_bytes(span.trace_id, "big"), []).append(span)
    assert len(by_trace) == len(lines)
    for decision in view.decisions:
        spans = {span.name: span for span in by_trace[trace_id_of(decision.message_id)]}
        accept, decide = spans.pop("message.accept"), spans.pop("message.decide")
        assert int.from_bytes(accept.span_id, "big") == intake_span_id(decision.message_id)
        assert decide.parent_span_id == accept.span_id  # the worker's spans join the intake's
        assert list(spans) == list(decision.latency_ms)  # one span per stage, in order
        for stage, span in spans.items():
            assert span.parent_span_id == decide.span_id
            measured = (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6
            assert measured == pytest.approx(decision.latency_ms[stage], abs=1e-3)
        attributes = {a.key: a.value.string_value for a in decide.attributes}
        assert attributes["frontdesk.intent"] == decision.intent.label
        assert attributes["frontdesk.tier"] == decision.decision.tier
    # Ids, channel, intent and tier only: nothing the customer wrote.
    everything = b"".join(span.SerializeToString() for span in received.spans)
    for line in (*lines, customer.email):
        assert line.encode() not in everything


def test_a_bad_endpoint_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"observability\.otlp_endpoint"):
        load_settings(observability={"otlp_endpoint": "127.0.0.1:4318"})
