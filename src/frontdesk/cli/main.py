"""The `frontdesk` command."""

from __future__ import annotations

import csv
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from frontdesk.clock import utcnow
from frontdesk.config import ConfigError, Settings, get_settings

app = typer.Typer(
    help="frontdesk: customer service by cooperating agents.",
    no_args_is_help=True,
    add_completion=False,
)
shop_app = typer.Typer(help="The embedded shop the real-time agent's tools work on.")
app.add_typer(shop_app, name="shop")
users_app = typer.Typer(help="Staff who work the inbox.")
app.add_typer(users_app, name="users")
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        errors.print(f"[red]{exc}[/red]", markup=True, highlight=False)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface; default server.host")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="default server.port")] = None,
    worker: Annotated[bool, typer.Option(help="process messages in this process too")] = True,
) -> None:
    """Run the API, the web chat page and a worker in one process."""
    import uvicorn

    from frontdesk.api.app import create_app
    from frontdesk.observability.logging import configure_logging

    settings = settings_or_exit()
    overrides = {"host": host or settings.server.host, "port": port or settings.server.port}
    settings = settings.model_copy(
        update={
            "server": settings.server.model_copy(update=overrides),
            "worker": settings.worker.model_copy(update={"enabled": worker}),
        }
    )
    configure_logging(settings.log_level)
    url = f"http://{settings.server.host}:{settings.server.port}"
    console.print(f"frontdesk is starting: chat at [bold]{url}/[/bold], API docs at {url}/docs")
    uvicorn.run(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.log_level,
        access_log=False,
        # Open event streams must not hold a shutdown up; browsers reconnect on their own.
        timeout_graceful_shutdown=5,
    )


@app.command("worker")
def run_worker(
    name: Annotated[str | None, typer.Option(help="consumer name; default host-pid")] = None,
) -> None:
    """Run a worker only (scale out: many workers on one PostgreSQL store and Redis queue)."""
    from frontdesk.observability.logging import configure_logging
    from frontdesk.runtime.services import build_services

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    services = build_services(settings)
    worker = services.worker(name)
    try:
        worker.run()
    except KeyboardInterrupt:
        pass
    finally:
        services.close()


@app.command()
def send(
    text: Annotated[str, typer.Argument(help="the customer's message")],
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="continue this conversation")
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="the conversation's token (printed when it started)")
    ] = None,
    url: Annotated[str | None, typer.Option(help="service URL; default from server.*")] = None,
    wait: Annotated[float, typer.Option(min=0, help="seconds to wait for the outcome")] = 10.0,
) -> None:
    """Send a message to the running service as a customer and show what happened to it."""
    settings = settings_or_exit()
    base = url or f"http://{settings.server.host}:{settings.server.port}"
    body: dict[str, str] = {"text": text}
    headers = {"X-Conversation-Token": token} if token else {}
    if conversation:
        body["conversation_id"] = conversation
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            response = client.post("/v1/messages", json=body, headers=headers)
            if response.status_code >= 400:
                raise fail(f"{response.status_code}: {response.json().get('detail')}", code=2)
            accepted = response.json()
            outcome = _wait_for_outcome(client, accepted, wait)
    except httpx.TransportError as exc:
        raise fail(
            f"no frontdesk service at {base} ({exc}); start one with `frontdesk serve`"
        ) from None
    console.print(
        f"conversation {accepted['conversation_id']}  token {accepted['conversation_token']}  "
        f"message {accepted['message_id']}"
    )
    if outcome is None:
        raise fail(f"not processed within {wait} s; is a worker running?")
    decision, reply, handoff = outcome
    intent = decision["intent"]
    route = decision["decision"]
    console.print(
        f"intent [bold]{intent['label']}[/bold] ({intent['confidence']:.3f}, "
        f"model {intent['model_version']})  tier [bold]{route['tier']}[/bold]"
    )
    for rule in route["rules"]:
        console.print(f"  rule {rule['rule']}: {rule['detail']}", highlight=False)
    if reply is not None:
        console.print(f"\n{reply['text']}", highlight=False)
    elif handoff is not None:
        console.print(f"\nhanded to a {handoff['tier']}: a person will answer shortly.")


def _wait_for_outcome(client: httpx.Client, accepted: dict, wait: float) -> tuple | None:
    deadline = time.monotonic() + wait
    while True:
        conversation = client.get(
            f"/v1/conversations/{accepted['conversation_id']}",
            params={"decided": accepted["message_id"], "wait": min(wait, 30)},
            headers={"X-Conversation-Token": accepted["conversation_token"]},
        ).json()
        message_id = accepted["message_id"]
        decision = next(
            (d for d in conversation["decisions"] if d["message_id"] == message_id), None
        )
        if decision is not None:
            reply = next(
                (r for r in conversation["replies"] if r["in_reply_to"] == message_id), None
            )
            handoff = next(
                (h for h in conversation["handoffs"] if h["message_id"] == message_id), None
            )
            return decision, reply, handoff
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def labelled_rows(data: list[Path] | None, with_seed: bool, oos_label: str | None) -> list:
    from frontdesk.training.intent_model import DataError, read_examples

    try:
        examples = read_examples() if with_seed or not data else []
        for path in data or []:
            examples += read_examples(path, oos_label=oos_label)
    except DataError as exc:
        raise fail(str(exc), code=2) from None
    return examples


@app.command()
def train(
    data: Annotated[
        list[Path] | None,
        typer.Option(help="CSV or JSON of text and intent (repeatable); default the seed set"),
    ] = None,
    with_seed: Annotated[
        bool, typer.Option(help="add the shipped seed utterances to --data (for retraining)")
    ] = False,
    features: Annotated[
        str,
        typer.Option(help="tfidf, minilm, tfidf+minilm, or several joined by commas (one wins)"),
    ] = "tfidf+minilm",
    oos_label: Annotated[
        str | None, typer.Option(help="the file's out-of-scope label, if not out_of_scope")
    ] = None,
    promote: Annotated[
        str, typer.Option(help="better (if not worse on validation), always or never")
    ] = "better",
) -> None:
    """Train an intent model, store it in the registry, and promote it unless it is worse on
    the held-back validation split than the one serving."""
    from frontdesk.training.features import FEATURE_SETS
    from frontdesk.training.models_dir import train_and_register

    settings = settings_or_exit()
    chosen = tuple(name.strip() for name in features.split(",") if name.strip())
    if not chosen or set(chosen) - set(FEATURE_SETS):
        raise fail(f"--features takes {', '.join(FEATURE_SETS)}; got {features!r}", code=2)
    if promote not in {"better", "always", "never"}:
        raise fail("--promote takes better, always or never", code=2)
    examples = labelled_rows(data, with_seed, oos_label)
    started = time.perf_counter()
    outcome = train_and_register(settings.data_dir, examples, promote_if=promote, features=chosen)
    model, scores = outcome.model, outcome.model.metadata.get("validation", {})
    console.print(
        f"trained {model.version} on {len(examples)} utterances, {len(model.labels)} intents, "
        f"in {time.perf_counter() - started:.1f} s; validation {format_scores(scores)}"
    )
    console.print(f"{outcome.reason}; a promoted model serves from the next start")


def format_scores(scores: dict) -> str:
    names = ["accuracy", "macro_f1", "oos_recall", "oos_precision", "ece"]
    shown = [f"{name} {scores[name]:.4f}" for name in names if scores.get(name) is not None]
    return ", ".join(shown) or "not measured (too few rows to hold some back)"


@app.command("eval")
def evaluate_model(
    data: Annotated[
        list[Path] | None,
        typer.Option(help="labelled CSV/JSON to score on; default the seed set's validation rows"),
    ] = None,
    version: Annotated[str | None, typer.Option(help="registry version; default current")] = None,
    oos_label: Annotated[str | None, typer.Option(help="the file's out-of-scope label")] = None,
    out: Annotated[Path, typer.Option(help="folder for the PNG figures")] = Path("intent-eval"),
) -> None:
    """Accuracy, macro-F1, OOS recall and precision, ECE; writes reliability.png and
    confusion.png."""
    import numpy as np

    from frontdesk.training.data import split_examples
    from frontdesk.training.metrics import (
        score_predictions,
        write_confusion_matrix,
        write_reliability_diagram,
    )
    from frontdesk.training.models_dir import RegistryError, current_version, load

    settings = settings_or_exit()
    chosen = version or current_version(settings.data_dir)
    if chosen is None:
        raise fail("no model promoted yet; run `frontdesk train` first")
    try:
        model = load(settings.data_dir, chosen)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    examples = labelled_rows(data, False, oos_label) if data else split_examples(
        labelled_rows(None, True, None))[1]  # fmt: skip
    truth = [example.intent for example in examples]
    predicted, confidence = model.predicted_labels([example.text for example in examples])
    scores = score_predictions(truth, predicted, confidence)
    write_reliability_diagram(
        confidence, np.array(truth) == np.array(predicted), out / "reliability.png"
    )
    write_confusion_matrix(truth, predicted, out / "confusion.png")
    console.print(f"{model.version} on {len(examples)} rows: {format_scores(scores)}")
    console.print(f"wrote {out / 'reliability.png'} and {out / 'confusion.png'}")


models_app = typer.Typer(help="The intent model registry.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def list_models() -> None:
    """Every stored intent model, oldest first; * marks the one serving."""
    from frontdesk.training.models_dir import list_models as stored_models

    for metadata in stored_models(settings_or_exit().data_dir):
        mark = "*" if metadata["current"] else " "
        console.print(
            f"{mark} {metadata['version']}  {metadata.get('created_at', '?')}  "
            f"features {metadata.get('features', '?')}  data {metadata.get('data_hash', '')[:10]}  "
            f"validation {format_scores(metadata.get('validation') or {})}",
            highlight=False,
        )


@models_app.command("promote")
def promote_model(
    version: Annotated[str, typer.Argument(help="a version from `models list`")],
) -> None:
    """Make VERSION the intent model that serves (from the next start)."""
    from frontdesk.training.models_dir import RegistryError, promote

    try:
        promote(settings_or_exit().data_dir, version)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    console.print(f"promoted {version}")


@models_app.command("rollback")
def rollback_model() -> None:
    """Promote again the version that served before the current one."""
    from frontdesk.training.models_dir import RegistryError, rollback

    try:
        version = rollback(settings_or_exit().data_dir)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    console.print(f"rolled back to {version}")


@app.command()
def ingest(
    path: Annotated[
        Path, typer.Argument(help="a Markdown, HTML, text or PDF file, or a folder of them")
    ],
) -> None:
    """Add or update knowledge-base articles (unchanged files are skipped). Given a folder, also
    remove the articles once ingested from it whose files have been deleted.

    Exits 1 when some files could not be read (each is listed with the reason; the rest are
    ingested and what was indexed before from a failed file is kept), 2 when PATH holds nothing
    to ingest.
    """
    from frontdesk.knowledge.dense import MiniLmEncoder, embed_missing
    from frontdesk.knowledge.ingest import IngestError, ingest_path
    from frontdesk.runtime.services import open_store

    settings = settings_or_exit()
    store = open_store(settings)
    started = time.perf_counter()
    try:
        report = ingest_path(store, path)
    except IngestError as exc:
        raise fail(str(exc), code=2) from None
    for source, reason in report.failed.items():
        errors.print(f"[yellow]skipped[/yellow] {source}: {reason}", highlight=False)
    for source in report.removed:
        console.print(f"removed {source}: the file was deleted", highlight=False)
    encoded = 0
    if settings.knowledge.dense == "minilm":
        encoded = embed_missing(store, MiniLmEncoder())
    console.print(
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.failed)} skipped, "
        f"{len(report.removed)} removed (file deleted); "
        f"{encoded} passages encoded in {time.perf_counter() - started:.1f} s; "
        f"running workers pick the changes up within {settings.knowledge.refresh_seconds:g} s"
    )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from frontdesk.runtime.services import open_store

    settings = settings_or_exit()
    open_store(settings)
    console.print(f"schema is up to date at {settings.store_url}")


@shop_app.command("import")
def import_shop(
    path: Annotated[
        Path, typer.Argument(help="a τ-bench retail db.json, or a folder of users/orders/products")
    ],
) -> None:
    """Replace the embedded shop with one in the τ-bench retail layout."""
    from frontdesk.commerce.loading import ShopImportError, read_tau_shop, replace_shop
    from frontdesk.runtime.services import open_store

    settings = settings_or_exit()
    try:
        shop = read_tau_shop(path)
    except ShopImportError as exc:
        raise fail(str(exc), code=2) from None
    replace_shop(open_store(settings), shop)
    console.print(
        f"imported {len(shop.customers)} customers, {len(shop.orders)} orders and "
        f"{len(shop.products)} products"
    )


@shop_app.command("demo")
def demo_shop(
    seed: Annotated[int, typer.Option(help="the same seed gives the same shop")] = 7,
) -> None:
    """Replace the embedded shop with the generated Harbor Goods demo shop."""
    from frontdesk.commerce.demo_shop import generate_shop
    from frontdesk.commerce.loading import replace_shop
    from frontdesk.runtime.services import open_store

    settings = settings_or_exit()
    shop = generate_shop(seed)
    replace_shop(open_store(settings), shop)
    console.print(f"generated {len(shop.customers)} customers and {len(shop.orders)} orders")


@app.command()
def route(
    text: Annotated[str, typer.Argument(help="a customer message")],
    explain: Annotated[bool, typer.Option("--explain", help="show every rule and input")] = False,
) -> None:
    """Show the tier a message would get, and why; nothing is stored."""
    from frontdesk.runtime.services import build_services

    settings = settings_or_exit()
    services = build_services(settings)
    try:
        context, decision = services.pipeline.explain(text)
    finally:
        services.close()
    intent = context.intent
    console.print(
        f"tier [bold]{decision.tier}[/bold] at confidence {decision.confidence:.3f} "
        f"(intent {intent.label} {intent.confidence:.3f}, model {intent.model_version})"
    )
    for hit in decision.rules:
        console.print(f"  {hit.rule}: {hit.detail}", highlight=False)
        if explain and hit.inputs:
            console.print(f"      inputs {hit.inputs}", highlight=False)
    if explain:
        alternatives = ", ".join(f"{a.label} {a.confidence:.3f}" for a in intent.alternatives)
        console.print(f"  alternatives: {alternatives}", highlight=False)
        console.print(f"  amount at stake: {context.amount_at_stake}", highlight=False)
        console.print(f"\ndraft ({context.draft.agent}):\n{context.draft.text}", highlight=False)


def parse_moment(value: str) -> datetime:
    """'24h', '7d', '90m' ago, or an ISO time (UTC when it has no zone)."""
    match = re.fullmatch(r"(\d+)([mhd])", value.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return utcnow() - timedelta(**{unit: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "use 24h, 7d, 90m or an ISO time such as 2026-11-01T00:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def metrics(
    since: Annotated[str, typer.Option(help="start: 24h, 7d, 90m ago or an ISO time")] = "24h",
    until: Annotated[str | None, typer.Option(help="end; default now")] = None,
) -> None:
    """Tier shares, automatic resolution, handoffs, handle time and reopen rate."""
    from frontdesk.runtime.services import open_store
    from frontdesk.store.metrics import service_metrics

    start = parse_moment(since)
    end = parse_moment(until) if until else utcnow()
    if start >= end:
        raise fail("--since must be before --until", code=2)
    report = service_metrics(open_store(settings_or_exit()), start, end)
    console.print_json(report.model_dump_json())


@app.command("export-training")
def export_training(
    out: Annotated[Path, typer.Option(help="CSV to write (text,intent,outcome,message_id)")],
    since: Annotated[str | None, typer.Option(help="only handoffs resolved since")] = None,
) -> None:
    """Write the messages people resolved, with the intent they confirmed or corrected; the
    file trains with `frontdesk train --data`."""
    from frontdesk.runtime.services import open_store

    rows = open_store(settings_or_exit()).training_rows(parse_moment(since) if since else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "intent", "outcome", "message_id"])
        writer.writerows(rows)
    console.print(f"wrote {len(rows)} rows to {out}")


@users_app.command("add")
def add_staff(
    username: Annotated[str, typer.Argument(help="the sign-in name")],
    role: Annotated[str, typer.Option(help="agent, specialist or admin")] = "agent",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Create a staff account (the password is asked for, or read from standard input)."""
    import sys

    from frontdesk.runtime.services import open_store
    from frontdesk.store.staff import StaffError, add_user

    settings = settings_or_exit()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        user = add_user(open_store(settings), username, password, role)  # type: ignore[arg-type]
    except StaffError as exc:
        raise fail(str(exc), code=2) from None
    console.print(f"added {user.username} ({user.role})")
