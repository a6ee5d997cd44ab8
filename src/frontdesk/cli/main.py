"""The `frontdesk` command: the commands of the modules beside this one, assembled into one app.

A group's module (models, shop, users) owns its Typer; the top-level commands are plain functions
registered here, because `frontdesk --help` lists them in the order they are registered.
"""

from __future__ import annotations

import typer

from frontdesk.cli import (
    customers,
    database,
    dead_letters,
    evaluation,
    knowledge,
    messages,
    metrics,
    models,
    report,
    serve,
    shop,
    training,
    users,
)

app = typer.Typer(
    help="frontdesk: customer service by cooperating agents.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(serve.serve)
app.command("worker")(serve.run_worker)
app.command()(messages.send)
app.command()(training.train)
app.add_typer(evaluation.app, name="eval")
app.command()(knowledge.ingest)
app.command()(database.migrate)
app.command()(messages.route)
app.command()(metrics.metrics)
app.command()(report.report)
app.command("export-training")(training.export_training)
app.add_typer(shop.app, name="shop")
app.add_typer(users.app, name="users")
app.add_typer(models.app, name="models")
app.add_typer(dead_letters.app, name="dead-letters")
app.add_typer(customers.app, name="customers")
