"""`frontdesk users`: staff who work the inbox."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from frontdesk.cli.common import console, fail, settings_or_exit

if TYPE_CHECKING:
    from frontdesk.config import Settings
    from frontdesk.store.staff_sessions import SessionPolicy

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


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@app.command("list")
def list_staff() -> None:
    """Every staff account: role, since when, disabled or not, and its working sessions."""
    from frontdesk.runtime.services import open_store
    from frontdesk.store.staff import list_accounts
    from frontdesk.store.staff_sessions import StaffSessions

    settings = settings_or_exit()
    store = open_store(settings)
    sessions = StaffSessions(store, session_policy(settings))
    accounts = list_accounts(store)
    if not accounts:
        console.print("no staff accounts; add one with `frontdesk users add NAME --role agent`")
    for account in accounts:
        state = (
            f"disabled {account.disabled_at:%Y-%m-%d %H:%M} UTC"
            if account.disabled_at
            else f"{sessions.working(account.username)} sessions"
        )
        console.print(
            f"{account.username}  {account.role}  since {account.created_at:%Y-%m-%d}  {state}",
            highlight=False,
        )


@app.command("disable")
def disable_staff(username: Annotated[str, typer.Argument(help="the sign-in name")]) -> None:
    """Disable an account: it cannot sign in, and its sessions stop working at once."""
    from frontdesk.runtime.services import open_store
    from frontdesk.store.staff import StaffError, disable_user

    settings = settings_or_exit()
    try:
        ended = disable_user(open_store(settings), username, actor="cli")
    except StaffError as exc:
        raise fail(str(exc), code=2) from None
    console.print(f"disabled {username}; {ended} sessions ended")


@app.command("enable")
def enable_staff(username: Annotated[str, typer.Argument(help="the sign-in name")]) -> None:
    """Let a disabled account sign in again."""
    from frontdesk.runtime.services import open_store
    from frontdesk.store.staff import StaffError, enable_user

    settings = settings_or_exit()
    try:
        enable_user(open_store(settings), username, actor="cli")
    except StaffError as exc:
        raise fail(str(exc), code=2) from None
    console.print(f"enabled {username}")


@app.command("reset-password")
def reset_staff_password(
    username: Annotated[str, typer.Argument(help="the sign-in name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Give an account a new password (asked for, or read from standard input); its sessions
    stop working at once."""
    from frontdesk.runtime.services import open_store
    from frontdesk.store.staff import StaffError, reset_password

    settings = settings_or_exit()
    password = _read_password(password_stdin)
    try:
        ended = reset_password(open_store(settings), username, password, actor="cli")
    except StaffError as exc:
        raise fail(str(exc), code=2) from None
    console.print(f"password of {username} reset; {ended} sessions ended")


def session_policy(settings: Settings) -> SessionPolicy:
    from frontdesk.store.staff_sessions import SessionPolicy

    return SessionPolicy(
        lifetime=timedelta(hours=settings.server.session_hours),
        idle=timedelta(minutes=settings.server.session_idle_minutes),
    )
