"""`frontdesk models`: the intent model registry."""

from __future__ import annotations

from typing import Annotated

import typer

from frontdesk.cli.common import console, fail, settings_or_exit
from frontdesk.cli.training import format_scores

app = typer.Typer(help="The intent model registry.", no_args_is_help=True)


@app.command("list")
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


@app.command("promote")
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


@app.command("rollback")
def rollback_model() -> None:
    """Promote again the version that served before the current one."""
    from frontdesk.training.models_dir import RegistryError, rollback

    try:
        version = rollback(settings_or_exit().data_dir)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    console.print(f"rolled back to {version}")
