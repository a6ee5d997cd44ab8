"""`frontdesk users`: staff who work the inbox."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from frontdesk.cli.common import console, fail, settings_or_exit

app = typer.Typer(help="Staff who work the inbox.")


@app.command("add")
def add_staff(
    username: Annotated[str, typer.Argument(help="the sign-in name")],
    role: Annotated[str, typer.Option(help="agent, specialist or admin")] = "agent",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Create a staff account (the password is asked for, or read from standard input)."""
    from frontdesk.runtime.services import open_store
    from frontdesk.store.staff import StaffError, add_user, as_role

    settings = settings_or_exit()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        user = add_user(open_store(settings), username, password, as_role(role))
    except StaffError as exc:
        raise fail(str(exc), code=2) from None
    console.print(f"added {user.username} ({user.role})")


@app.command("unlock")
def unlock_sign_in(
    username: Annotated[str | None, typer.Argument(help="the sign-in name to unlock")] = None,
    address: Annotated[
        str | None, typer.Option(help="a client address to unlock, e.g. 203.0.113.7")
    ] = None,
) -> None:
    """Forget the failed sign-ins of an account, a client address or both, so they may sign in
    again at once (audited as done by cli)."""
    from frontdesk.runtime.services import open_store
    from frontdesk.store.sign_in import SignInLimits, key_of, policy_of

    if username is None and address is None:
        raise fail("give a username or an --address to unlock", code=2)
    settings = settings_or_exit()
    limits = SignInLimits(open_store(settings), policy_of(settings.limits))
    forgotten = limits.unlock("cli", username, address)
    keys = [key_of("account", username)] if username else []
    keys += [key_of("address", address)] if address else []
    for key in keys:
        failures = forgotten.get(key)
        if failures is None:
            console.print(f"{key} had no failed sign-ins")
        else:
            console.print(f"unlocked {key} ({failures} failed sign-ins forgotten)")
