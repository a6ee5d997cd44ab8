"""A scrape: the recorded metrics (this process's, or every process's in multiprocess mode) and
the readings taken at scrape time from the queue and the store, which every process shares.

Served at GET /metrics of the API (api/routes/prometheus.py) when a token is configured, and on
a port of its own when `observability.metrics_port` is set (`MetricsListener`).
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from frontdesk.config import Settings
from frontdesk.queue import Queue
from frontdesk.store.repository import Store
from frontdesk.store.tables import HandoffRow

log = structlog.get_logger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
HANDOFF_TIERS = ("human", "specialist")


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, when the process was started with one."""
    return os.environ.get(MULTIPROC_ENV) or None


class Readings(Collector):
    """Gauges read when scraped: queue depth and dead letters of the queue, handoffs open per
    tier, and handoffs resolved per tier and outcome (a counter kept by the store itself)."""

    def __init__(self, queue: Queue, queue_name: str, store: Store) -> None:
        self.queue = queue
        self.queue_name = queue_name
        self.store = store

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "frontdesk_scrape_source_up",
            "1 when the source answered this scrape, 0 when its readings are missing",
            labels=["source"],
        )
        try:
            depth = self.queue.depth()
            dead = len(self.queue.dead_letters(limit=None))
        except Exception as exc:  # an outage must not fail the scrape of everything else
            log.warning("metrics.queue_unreadable", error=f"{type(exc).__name__}: {exc}")
            up.add_metric(["queue"], 0)
        else:
            up.add_metric(["queue"], 1)
            yield _gauge(
                "frontdesk_queue_depth", "Jobs not yet acknowledged", self.queue_name, depth
            )
            yield _gauge(
                "frontdesk_queue_dead_letters", "Dead letters waiting for a replay",
                self.queue_name, dead,
            )  # fmt: skip
        try:
            counted = self._handoffs()
        except Exception as exc:
            log.warning("metrics.store_unreadable", error=f"{type(exc).__name__}: {exc}")
            up.add_metric(["store"], 0)
        else:
            up.add_metric(["store"], 1)
            yield from counted
        yield up

    def _handoffs(self) -> list[Metric]:
        with self.store.session() as session:
            found = session.execute(
                select(HandoffRow.tier, HandoffRow.status, HandoffRow.outcome, func.count())
                .group_by(HandoffRow.tier, HandoffRow.status, HandoffRow.outcome)
            ).all()  # fmt: skip
        open_ = GaugeMetricFamily(
            "frontdesk_handoffs_open", "Handoffs waiting for a person, by tier", labels=["tier"]
        )
        resolved = CounterMetricFamily(
            "frontdesk_handoffs_resolved",
            "Handoffs a person resolved, by tier and outcome (from the store)",
            labels=["tier", "outcome"],
        )
        waiting = dict.fromkeys(HANDOFF_TIERS, 0)
        for tier, status, outcome, count in found:
            if status == "open":
                waiting[tier] = waiting.get(tier, 0) + count
            else:
                resolved.add_metric([tier, outcome or "none"], count)
        for tier, count in waiting.items():
            open_.add_metric([tier], count)
        return [open_, resolved]


def _gauge(name: str, documentation: str, queue: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=["queue"])
    gauge.add_metric([queue], value)
    return gauge


class _Recorded(Collector):
    """This process's recorded metrics (prometheus-client's default registry)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def scrape_registry(readings: Readings | None) -> CollectorRegistry:
    """What a scrape returns: in multiprocess mode the sum of every process's files (as
    prometheus-client's docs prescribe, a registry of its own with the MultiProcessCollector),
    else this process's metrics; with the readings taken at scrape time."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir() is not None:
        MultiProcessCollector(registry)
    else:
        registry.register(_Recorded())
    if readings is not None:
        registry.register(readings)
    return registry


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The Prometheus text exposition of a scrape, with its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def token_accepted(expected: str | None, authorization: str | None) -> bool:
    """A scrape may read the metrics: no token is configured, or it sent `Bearer <token>`."""
    if expected is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)


class MetricsListener:
    """The metrics on a port of their own (`observability.metrics_port`), for a scraper on a
    network the customers do not reach; with the token when one is configured."""

    def __init__(
        self, registry: CollectorRegistry, host: str, port: int, token: str | None
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self._answer(404, b"not found\n", "text/plain")
                elif not token_accepted(token, self.headers.get("Authorization")):
                    self._answer(401, b"send the metrics token as a Bearer token\n", "text/plain")
                else:
                    self._answer(200, *render(registry))

            def _answer(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every few seconds are not worth a log line each

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="frontdesk-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> MetricsListener:
        self.thread.start()
        log.info("metrics.listening", port=self.port)
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def metrics_token(settings: Settings) -> str | None:
    """The scrapers' bearer token, from the environment variable the config names."""
    return os.environ.get(settings.observability.metrics_token_env) or None


def readings_of(settings: Settings, queue: Queue, store: Store) -> Readings:
    return Readings(queue, settings.queue.name, store)


def open_metrics_listener(settings: Settings, queue: Queue, store: Store) -> MetricsListener | None:
    """The listener of `observability.metrics_port`, started; None when no port is set."""
    options = settings.observability
    if options.metrics_port is None:
        return None
    registry = scrape_registry(readings_of(settings, queue, store))
    listener = MetricsListener(
        registry, options.metrics_host, options.metrics_port, metrics_token(settings)
    )
    return listener.start()
