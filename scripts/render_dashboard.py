"""Draw deploy/grafana/frontdesk.json with real data, without Grafana.

Starts `frontdesk serve` on a temporary data dir with a metrics token, and a private Prometheus
(Debian's `prometheus` package) that scrapes it every few seconds. Sends the service the
evaluation set's customer turns (a sample across its kinds, multi-turn items turn by turn) while
a signed-in staff account answers handed-off conversations through the API, with every outcome
and one escalation. Then it asks Prometheus for every panel's queries, exactly as written in the
dashboard with Grafana's variables filled in as Grafana fills them (`$job`: the scrape job,
`$__interval`: the step, `$__rate_interval`: max(step + scrape interval, 4 × scrape interval)),
and draws the answers with matplotlib in the dashboard's own grid (gridPos, titles, stat and
time-series panels, units). Prints per panel the series and points Prometheus returned.

    .venv/bin/python scripts/render_dashboard.py --out docs/screenshots/dashboard.png

`--models DIR` copies a trained intent model (a data dir's `models/intent`) instead of training
one on the first start; `--answers FILE` keeps Prometheus's answers and `--redraw FILE` draws
them again without a run. This is a documentation tool, not a test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "frontdesk.json"
JOB = "frontdesk"
STAFF = ("desk", "a long staff password for the dashboard run")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, what: str, process: subprocess.Popen[bytes], timeout: float, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    sys.exit(f"{what} not ready in {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


class Run:
    """The processes of one run in one temporary folder; stop() ends the ones it started."""

    def __init__(self, folder: Path, scrape_seconds: float) -> None:
        self.folder = folder
        self.scrape_seconds = scrape_seconds
        self.token = secrets.token_hex(32)
        self.port = free_port()
        self.prometheus_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")},
            "FRONTDESK_DATA_DIR": str(folder / "data"),
            "FRONTDESK_SERVER__PORT": str(self.port),
            "FRONTDESK_METRICS_TOKEN": self.token,
            "FRONTDESK_LOG_LEVEL": "warning",
            # Replaying the dev split to fit the calibration would take the run's minutes.
            "FRONTDESK_ROUTING__CALIBRATE_AT_START": "false",
            # Every simulated customer posts from 127.0.0.1.
            "FRONTDESK_LIMITS__MESSAGES_PER_ADDRESS_PER_MINUTE": "1000000",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    def frontdesk(self, *args: str, stdin: str | None = None) -> None:
        subprocess.run(
            [sys.executable, "-m", "frontdesk", *args],
            env=self.env,
            cwd=self.folder,  # no frontdesk.toml here: the shipped defaults
            input=stdin.encode() if stdin else None,
            check=True,
            capture_output=True,
        )

    def start_serve(self, timeout: float) -> None:
        log = self.folder / "serve.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "frontdesk", "serve"],
            env=self.env,
            cwd=self.folder,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        wait_for(f"{self.url}/readyz", "frontdesk serve", process, timeout, log)

    def start_prometheus(self, binary: str) -> None:
        (self.folder / "token").write_text(self.token)
        every = f"{round(self.scrape_seconds * 1000)}ms"
        (self.folder / "prometheus.yml").write_text(
            f"global:\n  scrape_interval: {every}\n  evaluation_interval: {every}\n"
            f"scrape_configs:\n  - job_name: {JOB}\n"
            f"    scrape_timeout: {every}\n"
            f"    authorization:\n      credentials_file: {self.folder / 'token'}\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{self.port}']\n"
        )
        log = self.folder / "prometheus.log"
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={self.folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.folder / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            ],
            cwd=self.folder,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        wait_for(f"{self.prometheus}/-/ready", "prometheus", process, 60, log)

    def scrape(self, having: str = "") -> dict[str, float]:
        """Sum per metric name of frontdesk's own /metrics (of the samples whose line holds
        `having`), for progress and to check what Prometheus answers against."""
        answer = httpx.get(
            f"{self.url}/metrics", headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )
        answer.raise_for_status()
        sums: dict[str, float] = defaultdict(float)
        for line in answer.text.splitlines():
            if line and not line.startswith("#") and having in line:
                name = line.split("{", 1)[0].split(" ", 1)[0]
                sums[name] += float(line.rsplit(" ", 1)[1])
        return sums

    def scrapes_in(self) -> int:
        answer = httpx.get(
            f"{self.prometheus}/api/v1/query",
            params={"query": f'count_over_time(up{{job="{JOB}"}}[1h])'},
            timeout=10,
        ).json()
        result = answer["data"]["result"]
        return int(float(result[0]["value"][1])) if result else 0

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


# --- traffic -------------------------------------------------------------------------------


def sample_items(count: int) -> list[Any]:
    """`count` evaluation items in turn from each kind, in the file's order; a quarter of them
    conversations of several turns (order lookups that identify the customer among them)."""
    from frontdesk.evaluation.dataset import load_items

    def round_robin(items: list[Any]) -> list[Any]:
        by_kind: dict[str, list[Any]] = defaultdict(list)
        for item in items:
            by_kind[item.kind].append(item)
        groups = itertools.zip_longest(*by_kind.values())
        return [item for group in groups for item in group if item is not None]

    items = load_items()
    several = round_robin([item for item in items if len(item.turns) > 1])[: count // 4]
    single = round_robin([item for item in items if len(item.turns) == 1])
    picked = single[: count - len(several)]
    for index, item in enumerate(several):  # spread through the run
        picked.insert(index * 4 + 2, item)
    return picked


class Customers:
    def __init__(self, url: str) -> None:
        self.url = url
        self.posted = 0
        self.lock = threading.Lock()

    def converse(self, item: Any) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            answer = client.post(
                "/v1/messages",
                json={"text": item.turns[0]},
                headers={"Idempotency-Key": f"{item.id}-0"},
            )
            answer.raise_for_status()
            first = answer.json()
            conversation, token = first["conversation_id"], first["conversation_token"]
            message = first["message_id"]
            self.count()
            for number, text in enumerate(item.turns[1:], start=1):
                headers = {"X-Conversation-Token": token}
                client.get(
                    f"/v1/conversations/{conversation}",
                    params={"decided": message, "wait": 30},
                    headers=headers,
                ).raise_for_status()
                answer = client.post(
                    f"/v1/conversations/{conversation}/messages",
                    json={"text": text},
                    headers={**headers, "Idempotency-Key": f"{item.id}-{number}"},
                )
                answer.raise_for_status()
                message = answer.json()["message_id"]
                self.count()

    def count(self) -> None:
        with self.lock:
            self.posted += 1


class Staff:
    """A signed-in specialist who answers one open handoff every few seconds, cycling through
    the outcomes (and one escalation), until told to stop; the rest stay open."""

    OUTCOMES = ("sent_as_drafted", "edited", "rewritten", "escalate", "wrong_intent", "edited")

    def __init__(self, url: str, every: float) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)
        answer = self.client.post(
            "/v1/auth/login", json={"username": STAFF[0], "password": STAFF[1]}
        )
        answer.raise_for_status()
        self.every = every
        self.done: dict[str, int] = defaultdict(int)
        self.stop = threading.Event()
        self.escalated: set[str] = set()

    def work(self) -> None:
        outcomes = itertools.cycle(self.OUTCOMES)
        while not self.stop.wait(self.every):
            handoffs = self.client.get("/v1/handoffs", params={"status": "open"}).json()
            handoffs = [h for h in handoffs if h["id"] not in self.escalated]
            if handoffs:
                self.answer(handoffs[0], next(outcomes))

    def answer(self, handoff: dict[str, Any], outcome: str) -> None:
        path = f"/v1/handoffs/{handoff['id']}"
        if outcome == "escalate" and handoff["tier"] == "human":
            self.client.post(f"{path}/escalate", json={"note": "a refund dispute"})
            self.escalated.add(handoff["id"])
            self.done["escalated"] += 1
            return
        if outcome == "escalate":
            outcome = "rewritten"
        self.client.post(f"{path}/claim").raise_for_status()
        draft = (handoff["packet"].get("draft") or {}).get("text") or ""
        body: dict[str, Any] = {"outcome": outcome}
        if outcome == "sent_as_drafted" and draft:
            body["text"] = draft
        elif outcome == "edited" and draft:
            body["text"] = f"{draft}\n\nIf anything is still unclear, just write back."
        else:
            body["text"] = "Thanks for your patience: I have looked into this and sorted it out."
            body["outcome"] = "rewritten" if outcome != "wrong_intent" else outcome
        if body["outcome"] == "wrong_intent":
            guessed = handoff["packet"]["intent"]["label"]
            body["correct_intent"] = "complaint" if guessed != "complaint" else "feedback"
        self.client.post(f"{path}/reply", json=body).raise_for_status()
        self.done[body["outcome"]] += 1


def send_traffic(run: Run, items: list[Any], customers: int, seconds: float) -> dict[str, Any]:
    """Post the items' turns spread over about `seconds`, while the staff answers handoffs."""
    run.frontdesk(
        "users", "add", STAFF[0], "--role", "specialist", "--password-stdin", stdin=STAFF[1] + "\n"
    )
    staff = Staff(run.url, every=max(2.0, seconds / 12))
    worker = threading.Thread(target=staff.work, daemon=True)
    worker.start()
    traffic = Customers(run.url)
    began = time.monotonic()
    with ThreadPoolExecutor(customers) as pool:

        def paced(index_item: tuple[int, Any]) -> None:  # item i starts at i/n of the time
            index, item = index_item
            time.sleep(max(0.0, began + index * seconds / len(items) - time.monotonic()))
            traffic.converse(item)

        list(pool.map(paced, enumerate(items)))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # until every posted message is decided
        sums = run.scrape()
        if sums.get("frontdesk_messages_total", 0) >= traffic.posted:
            break
        time.sleep(1)
    time.sleep(run.scrape_seconds * 4)
    staff.stop.set()
    worker.join()
    final, replied = run.scrape(), run.scrape('outcome="replied"')
    return {
        "conversations": len(items),
        "messages_posted": traffic.posted,
        "messages_counted_by_frontdesk": final.get("frontdesk_messages_total", 0),
        "answered_by_the_bot_by_frontdesk": round(
            replied.get("frontdesk_messages_total", 0) / max(1, traffic.posted), 4
        ),
        "tool_calls": final.get("frontdesk_tool_calls_total", 0),
        "tool_errors": final.get("frontdesk_tool_errors_total", 0),
        "guardrail_trips": final.get("frontdesk_guardrail_trips_total", 0),
        "handoff_actions": dict(staff.done),
        "handoffs_open_at_end": final.get("frontdesk_handoffs_open", 0),
    }


# --- queries -------------------------------------------------------------------------------


def panels_of(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def grafana_variables(step: float, scrape: float) -> dict[str, str]:
    """What Grafana puts in place of its variables for a panel of this run (`$job` with the
    one job selected; longer names first, so `$__rate_interval` is not read as `$__interval`)."""
    rate = max(step + scrape, 4 * scrape)
    return {
        "$__rate_interval": f"{rate:g}s",
        "${__rate_interval}": f"{rate:g}s",
        "$__interval": f"{step:g}s",
        "${__interval}": f"{step:g}s",
        "${job}": JOB,
        "$job": JOB,
    }


def substitute(expr: str, variables: dict[str, str]) -> str:
    for name, value in variables.items():
        expr = expr.replace(name, value)
    if "$" in expr:
        raise SystemExit(f"a Grafana variable this script does not know in {expr!r}")
    return expr


def query_range(prometheus: str, expr: str, start: float, end: float, step: float) -> Any:
    answer = httpx.get(
        f"{prometheus}/api/v1/query_range",
        params={"query": expr, "start": start, "end": end, "step": step},
        timeout=30,
    )
    body = answer.json()
    if body.get("status") != "success":
        return {"error": body.get("error", answer.text)}
    return body["data"]["result"]


def evaluate(board: dict[str, Any], run: Run, start: float, end: float, step: float):
    variables = grafana_variables(step, run.scrape_seconds)
    answers: dict[int, list[dict[str, Any]]] = {}
    summary = []
    for panel in panels_of(board):
        if panel["type"] == "row":
            continue
        answers[panel["id"]] = []
        for target in panel.get("targets", []):
            expr = substitute(target["expr"], variables)
            result = query_range(run.prometheus, expr, start, end, step)
            error = result.get("error") if isinstance(result, dict) else None
            series = [] if error else result
            points = sum(len(s["values"]) for s in series)
            numbers = sum(1 for s in series for _, v in s["values"] if not math.isnan(float(v)))
            answers[panel["id"]].append({"target": target, "series": series, "error": error})
            summary.append(
                {
                    "panel": panel["title"],
                    "type": panel["type"],
                    "ref": target["refId"],
                    "series": len(series),
                    "points": points,
                    "numeric_points": numbers,
                    **({"error": error} if error else {}),
                    **({} if numbers else {"query": expr}),
                }
            )
    return answers, summary


def job_variable(board: dict[str, Any], prometheus: str) -> list[str]:
    """The values Grafana's `job` variable offers: label_values(METRIC, job)."""
    variable = next(v for v in board["templating"]["list"] if v["name"] == "job")
    query = variable["query"]["query"]
    metric = query.removeprefix("label_values(").split(",")[0].strip()
    answer = httpx.get(f"{prometheus}/api/v1/label/job/values", params={"match[]": metric})
    return answer.json()["data"]


# --- drawing -------------------------------------------------------------------------------

BACKGROUND, PANEL, GRID, TEXT, MUTED = "#111217", "#181b1f", "#2c3036", "#d8d9da", "#8e9196"
PALETTE = [
    "#73bf69",
    "#f2cc0c",
    "#5794f2",
    "#ff9830",
    "#f2495c",
    "#b877d9",
    "#8ab8ff",
    "#ffb357",
    "#96d98d",
    "#ff7383",
    "#ca95e5",
    "#fade2a",
]


def formatted(value: float, unit: str | None) -> str:
    if math.isnan(value):
        return "NaN"
    if unit == "percentunit":
        return f"{value * 100:.1f} %"
    if unit == "s":
        if value < 1:
            return f"{value * 1000:.3g} ms"
        return f"{value:.3g} s"
    if abs(value) >= 1000:
        return f"{value / 1000:.3g} K"
    return f"{value:.3g}" if value != int(value) else f"{int(value)}"


def legend(target: dict[str, Any], metric: dict[str, str]) -> str:
    text = target.get("legendFormat") or json.dumps(metric)
    for key, value in metric.items():
        text = text.replace("{{" + key + "}}", value).replace("{{ " + key + " }}", value)
    return text


GRID_COLUMN, GRID_ROW, HEADER, DPI = 80, 34, 90, 100  # pixels: a grid column, a row, the title


def draw(
    board: dict[str, Any],
    answers: dict[int, Any],
    out: Path,
    span: tuple[float, float],
    note: str,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels_of(board))
    size = (24 * GRID_COLUMN, rows * GRID_ROW + HEADER)
    figure = plt.figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, facecolor=BACKGROUND)
    figure.text(
        8 / size[0],
        1 - 30 / size[1],
        board["title"],
        color=TEXT,
        fontsize=18,
        weight="bold",
        va="center",
    )
    figure.text(8 / size[0], 1 - 64 / size[1], note, color=MUTED, fontsize=10, va="center")
    for panel in panels_of(board):
        grid = panel["gridPos"]
        if panel["type"] == "row":
            y = 1 - (HEADER + (grid["y"] + 0.55) * GRID_ROW) / size[1]
            figure.text(
                (grid["x"] * GRID_COLUMN + 6) / size[0],
                y,
                panel["title"],
                color=TEXT,
                fontsize=13,
                weight="bold",
                va="center",
            )
            continue
        draw_panel(figure, panel, answers[panel["id"]], size, span)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=DPI, facecolor=BACKGROUND)
    plt.close(figure)


def draw_panel(
    figure: Any,
    panel: dict[str, Any],
    answers: list[dict[str, Any]],
    size: tuple[int, int],
    span: tuple[float, float],
) -> None:
    """One panel in its gridPos: a frame with the title, then "No data", the stat's values or
    the time series with their legend."""
    grid, pad = panel["gridPos"], 4
    width, height = size
    left = (grid["x"] * GRID_COLUMN + pad) / width
    top = HEADER + grid["y"] * GRID_ROW + pad
    w = (grid["w"] * GRID_COLUMN - 2 * pad) / width
    h = (grid["h"] * GRID_ROW - 2 * pad) / height
    bottom = 1 - top / height - h
    frame = figure.add_axes((left, bottom, w, h), facecolor=PANEL)
    frame.set_xticks([])
    frame.set_yticks([])
    for side in frame.spines.values():
        side.set_color(GRID)
    frame.text(
        8 / (w * width),
        1 - 13 / (h * height),
        panel["title"],
        color=TEXT,
        fontsize=12,
        weight="bold",
        va="center",
        transform=frame.transAxes,
    )
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    drawn = [
        (
            legend(answer["target"], series["metric"]),
            answer["target"]["refId"],
            [(float(t), float(v)) for t, v in series["values"]],
        )
        for answer in answers
        for series in answer["series"]
    ]
    errors = [answer["error"] for answer in answers if answer["error"]]
    if errors or not any(not math.isnan(v) for *_, values in drawn for _, v in values):
        message = f"Error: {errors[0][:80]}" if errors else "No data"
        frame.text(
            0.5, 0.45, message, color=MUTED, fontsize=12, ha="center", transform=frame.transAxes
        )
        return
    if panel["type"] == "stat":  # Grafana's default reduction: the last value that is not null
        shown = sorted(
            (label, next((v for _, v in reversed(values) if not math.isnan(v)), math.nan))
            for label, _, values in drawn
        )
        for index, (label, value) in enumerate(shown):
            x = (index + 0.5) / len(shown)
            frame.text(
                x,
                0.42,
                formatted(value, unit),
                color=PALETTE[0],
                fontsize=26,
                weight="bold",
                ha="center",
                va="center",
                transform=frame.transAxes,
            )
            frame.text(
                x, 0.12, label, color=MUTED, fontsize=10, ha="center", transform=frame.transAxes
            )
        return
    draw_series(
        figure,
        frame,
        sorted(drawn, key=lambda d: (d[1], d[0])),
        unit,
        (left, bottom, w, h),
        size,
        span,
    )


def draw_series(
    figure: Any,
    frame: Any,
    lines: list[Any],
    unit: str | None,
    box: tuple[float, float, float, float],
    size: tuple[int, int],
    span: tuple[float, float],
) -> None:
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    left, bottom, w, h = box
    width, height = size
    columns = 5 if len(lines) > 12 else 4 if len(lines) > 6 else 3
    legend_px = 10 + 17 * math.ceil(len(lines) / columns)
    plot = figure.add_axes(
        (
            left + 52 / width,
            bottom + (legend_px + 26) / height,
            w - 64 / width,
            h - (legend_px + 26 + 34) / height,
        ),
        facecolor=PANEL,
    )
    steps = [b[0] - a[0] for *_, values in lines for a, b in itertools.pairwise(values)]
    step = min(steps, default=1.0)
    for index, (label, _, values) in enumerate(lines):
        times, numbers = [], []
        for number, (t, v) in enumerate(values):  # a step without a value is a gap, as in Grafana
            if number and t - values[number - 1][0] > 1.5 * step:
                times.append(datetime.fromtimestamp(t - step, UTC))
                numbers.append(math.nan)
            times.append(datetime.fromtimestamp(t, UTC))
            numbers.append(v)
        colour = PALETTE[index % len(PALETTE)]
        plot.plot(times, numbers, color=colour, linewidth=1.4, label=label)
    plot.set_xlim(*(datetime.fromtimestamp(t, UTC) for t in span))
    plot.set_ylim(bottom=0)
    plot.grid(color=GRID, linewidth=0.6)
    plot.tick_params(colors=MUTED, labelsize=9, length=0)
    for side in plot.spines.values():
        side.set_visible(False)
    plot.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=UTC))
    plot.yaxis.set_major_formatter(FuncFormatter(lambda value, _: formatted(value, unit)))
    plot.yaxis.set_major_locator(MaxNLocator(4))
    frame.legend(
        *plot.get_legend_handles_labels(),
        loc="lower left",
        ncol=columns,
        frameon=False,
        fontsize=9,
        labelcolor=TEXT,
        handlelength=1.2,
        borderaxespad=0.3,
        columnspacing=1.2,
    )


# --- main ----------------------------------------------------------------------------------


def measure(args: argparse.Namespace, board: dict[str, Any]) -> dict[str, Any]:
    """The run: frontdesk and Prometheus up, the traffic, every panel's answers."""
    binary = shutil.which("prometheus")
    if binary is None:
        sys.exit("prometheus not found on PATH: install it first (apt-get install -y prometheus)")
    items = sample_items(args.items)
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-dashboard-"))
    if args.models:
        shutil.copytree(args.models, folder / "data" / "models" / "intent")
    run = Run(folder, args.scrape_interval)
    step = args.scrape_interval
    try:
        print(f"starting frontdesk serve and prometheus in {folder}", file=sys.stderr)
        run.start_serve(timeout=900)
        run.start_prometheus(binary)
        while run.scrapes_in() < 3:  # a baseline before the first message
            time.sleep(args.scrape_interval)
        start = time.time() - 2 * args.scrape_interval
        print(f"sending {len(items)} conversations", file=sys.stderr)
        traffic = send_traffic(run, items, args.customers, args.seconds)
        time.sleep(args.scrape_interval * 2)
        end = time.time()
        answers, summary = evaluate(board, run, start, end, step)
        jobs = job_variable(board, run.prometheus)
        version = httpx.get(f"{run.prometheus}/api/v1/status/buildinfo").json()["data"]["version"]
    finally:
        run.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    panels = {row["panel"] for row in summary}
    empty = sorted(panels - {row["panel"] for row in summary if row["numeric_points"]})
    stamp = datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = (
        f"Not a Grafana screenshot: drawn by scripts/render_dashboard.py from the answers of a "
        f"real Prometheus ({version}) to this dashboard's own queries (query_range, step "
        f"{step:g} s, scrape every {args.scrape_interval:g} s), {stamp}.\n"
        f"{traffic['messages_posted']} messages (the evaluation set's customer turns), handoffs "
        f"answered by a signed-in specialist through the API; {len(panels) - len(empty)} of "
        f"{len(panels)} panels with data"
    )
    report = {
        "window": {"start": start, "end": end, "seconds": round(end - start, 1), "step": step},
        "prometheus": version,
        "job_variable_values": jobs,
        "traffic": traffic,
        "panels_with_data": len(panels) - len(empty),
        "panels": len(panels),
        "panels_without_data": [
            {"panel": row["panel"], "ref": row["ref"], "query": row.get("query")}
            for row in summary
            if row["panel"] in empty
        ],
        "errors": [row for row in summary if "error" in row],
        "targets": summary,
    }
    return {"report": report, "note": note, "span": [start, end], "answers": answers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "dashboard.png")
    parser.add_argument("--dashboard", type=Path, default=DASHBOARD)
    parser.add_argument("--items", type=int, default=150, help="evaluation items to send")
    parser.add_argument("--customers", type=int, default=3, help="customers writing at once")
    parser.add_argument("--seconds", type=float, default=120, help="spread the traffic over this")
    parser.add_argument("--scrape-interval", type=float, default=2.0)
    parser.add_argument("--models", type=Path, help="a trained intent model folder to copy")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--answers", type=Path, help="also write Prometheus's answers here")
    parser.add_argument("--redraw", type=Path, help="draw the answers of an earlier --answers")
    args = parser.parse_args()

    board = json.loads(args.dashboard.read_text(encoding="utf-8"))
    if args.redraw:
        measured = json.loads(args.redraw.read_text(encoding="utf-8"))
        measured["answers"] = {int(key): value for key, value in measured["answers"].items()}
    else:
        measured = measure(args, board)
        if args.answers:
            args.answers.write_text(json.dumps(measured), encoding="utf-8")
    draw(board, measured["answers"], args.out, tuple(measured["span"]), measured["note"])
    print(json.dumps({"image": str(args.out), **measured["report"]}, indent=2))


if __name__ == "__main__":
    main()
