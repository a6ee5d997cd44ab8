"""deploy/grafana/frontdesk.json queries only what frontdesk exports: every metric name in a
panel's PromQL (parsed by a PromQL parser, not matched by pattern) is a series of the scrape,
with the _bucket/_count/_sum/_total suffixes Prometheus gives histograms and counters."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from frontdesk.config import load_settings
from frontdesk.observability.exposition import readings_of, scrape_registry
from frontdesk.queue import open_queue
from frontdesk.runtime.services import open_store

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "frontdesk.json"
# Grafana's variables, as Grafana substitutes them before Prometheus sees the query.
VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$job": ".*", "${job}": ".*"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


@pytest.fixture
def exported(tmp_path: Path) -> Iterator[set[str]]:
    """Every series name a scrape can carry: the recorded metrics and the readings taken at
    scrape time, from a real store and queue."""
    settings = load_settings(data_dir=tmp_path / "data")
    store = open_store(settings)
    queue = open_queue(settings)
    registry = scrape_registry(readings_of(settings, queue, store))
    yield {
        family.name + suffix
        for family in registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }
    queue.close()
    store.engine.dispose()


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row holds its panels


def queries(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every panel target and of the query variables."""
    for panel in panels(board):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            query = query["query"] if isinstance(query, dict) else query
            # label_values(METRIC, LABEL) asks for the series of METRIC.
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", query)
            yield f"variable {variable['name']!r}", match.group(1) if match else query


def substituted(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"a Grafana variable the test does not know in {expr!r}"
    return expr


def metric_names(node: Any) -> Iterator[str]:
    """The metric names of the selectors in a parsed PromQL expression."""
    if isinstance(node, promql_parser.VectorSelector):
        if node.name:
            yield node.name
        for matcher in node.matchers.matchers:
            if matcher.name == "__name__":
                yield matcher.value
    elif isinstance(node, promql_parser.MatrixSelector):
        yield from metric_names(node.vector_selector)
    elif isinstance(node, promql_parser.BinaryExpr):
        yield from metric_names(node.lhs)
        yield from metric_names(node.rhs)
    elif isinstance(node, promql_parser.AggregateExpr):
        yield from metric_names(node.expr)
        if node.param is not None:
            yield from metric_names(node.param)
    elif isinstance(node, promql_parser.Call):
        for argument in node.args:
            yield from metric_names(argument)
    elif isinstance(
        node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr
    ):
        yield from metric_names(node.expr)
    else:
        assert isinstance(node, promql_parser.NumberLiteral | promql_parser.StringLiteral), node


def queried(board: dict[str, Any]) -> dict[str, set[str]]:
    return {
        where: set(metric_names(promql_parser.parse(substituted(expr))))
        for where, expr in queries(board)
    }


def test_every_metric_a_panel_queries_is_exported(exported: set[str]) -> None:
    found = queried(dashboard())
    assert found, "the dashboard has no queries"
    missing = {where: names - exported for where, names in found.items() if names - exported}
    assert missing == {}
    assert all(found.values()), [where for where, names in found.items() if not names]


def test_every_frontdesk_metric_has_a_panel(exported: set[str]) -> None:
    """A metric added to the exporter gets a panel too (its base name, any suffix)."""
    shown = set().union(*queried(dashboard()).values())
    bases = {re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in shown}
    ours = {
        re.sub(r"_(total|bucket|count|sum|created)$", "", name)
        for name in exported
        if name.startswith("frontdesk_")
    }
    assert ours - bases == set()


def test_the_checker_sees_a_metric_that_is_not_exported(exported: set[str]) -> None:
    expr = 'sum(rate(frontdesk_sla_breaches_total{job=~"$job"}[$__rate_interval])) / 2'
    names = set(metric_names(promql_parser.parse(substituted(expr))))
    assert names == {"frontdesk_sla_breaches_total"}
    assert names - exported == names


def test_the_dashboard_is_importable_json() -> None:
    board = dashboard()
    assert board["uid"] == "frontdesk" and board["title"] == "frontdesk"
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
