"""`frontdesk serve` and `frontdesk worker`: the long-running processes."""

from __future__ import annotations

from typing import Annotated

import typer

from frontdesk.cli.common import console, settings_or_exit
from frontdesk.config import Settings


def serve(
    host: Annotated[str | None, typer.Option(help="interface; default server.host")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="default server.port")] = None,
    worker: Annotated[bool, typer.Option(help="process messages in this process too")] = True,
) -> None:
    """Run the API, the web chat page and a worker in one process."""
    import uvicorn

    from frontdesk.observability.logging import configure_logging
    from frontdesk.server import create_app

    settings = settings_or_exit()
    overrides = {"host": host or settings.server.host, "port": port or settings.server.port}
    settings = settings.model_copy(
        update={
            "server": settings.server.model_copy(update=overrides),
            "worker": settings.worker.model_copy(update={"enabled": worker}),
        }
    )
    configure_logging(settings.log_level)
    calibrate_if_needed(settings)
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


def calibrate_if_needed(settings: Settings) -> None:
    """On a first start, the reply-confidence calibration for the serving intent model (which
    a first start trains from the seed utterances)."""
    from frontdesk.confidence.registry import load_current

    if not settings.routing.calibrate_at_start or load_current(settings.data_dir) is not None:
        return
    from frontdesk.cli.evaluation import describe_calibration, fit_and_store
    from frontdesk.evaluation.dataset import load_items

    console.print("first start: fitting the reply-confidence calibration (once, about a minute)")
    console.print(describe_calibration(fit_and_store(settings, load_items(), True, True)))


def run_worker(
    name: Annotated[str | None, typer.Option(help="consumer name; default host-pid")] = None,
) -> None:
    """Run a worker only (scale out: many workers on one PostgreSQL store and Redis queue)."""
    from frontdesk.channels.email.channel import start_email
    from frontdesk.observability.exposition import open_metrics_listener
    from frontdesk.observability.logging import configure_logging
    from frontdesk.runtime.services import build_services

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    calibrate_if_needed(settings)
    services = build_services(settings)
    worker = services.worker(name)
    # A worker on another host has no API beside it: it serves its metrics on the port itself.
    listener = open_metrics_listener(settings, services.queue, services.store)
    email = start_email(services, receive=False)  # the outbox sender, when a relay is set
    try:
        worker.run()
    except KeyboardInterrupt:
        pass
    finally:
        email.close()
        if listener is not None:
            listener.close()
        services.close()
