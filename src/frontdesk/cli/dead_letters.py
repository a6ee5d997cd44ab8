"""`frontdesk dead-letters`: the messages the workers gave up on, listed and queued again."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from frontdesk.cli.common import console, fail, settings_or_exit

if TYPE_CHECKING:
    from frontdesk.queue import DeadLetter, Queue

app = typer.Typer(
    help="Messages the workers gave up on: list them, queue them again. A message is a dead "
    "letter once it has been delivered queue.max_attempts times without being processed.",
    short_help="Messages the workers gave up on.",
    no_args_is_help=True,
)

REPLAY_BATCH = 500


@app.command("list")
def list_dead_letters(
    limit: Annotated[int, typer.Option(min=1, help="show at most this many, oldest first")] = 100,
) -> None:
    """List the dead letters, oldest first.

    Each on one line: its id (for `replay`), the message id, how many times it was delivered,
    when it died (UTC) and the last delivery's error."""
    with _open_queue() as queue:
        dead = queue.dead_letters(limit + 1)
    if not dead:
        console.print("no dead letters")
        return
    header = ("id", "message", "attempts", "died (UTC)", "last error")
    rows = [header, *(_row(letter) for letter in dead[:limit])]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        console.print("  ".join([*cells, row[-1]]), markup=False, highlight=False)
    if len(dead) > limit:
        console.print(f"more dead letters than {limit}: raise --limit to see them")


@app.command("replay")
def replay(
    ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="ID", help="dead letter ids, from `frontdesk dead-letters list`"),
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="replay every dead letter")] = False,
) -> None:
    """Queue dead letters' messages again.

    Each dead letter named (or every one, with --all) leaves the list and its message is queued
    as a new job, its attempts counted from zero; a running worker processes it. A message that
    has a job already keeps that one job.

    Exits 2, replaying nothing, when an id names no dead letter.
    """
    if bool(ids) == replay_all:
        raise fail("name the dead letters to replay (ids from `dead-letters list`) or --all", 2)
    with _open_queue() as queue:
        listed = [letter.id for letter in queue.dead_letters(limit=None)]
        if ids:
            known = set(listed)
            unknown = [i for i in dict.fromkeys(ids) if i not in known]
            if unknown:
                raise fail(
                    f"no dead letter with id {escape(', '.join(unknown))}; "
                    "`frontdesk dead-letters list` shows them",
                    2,
                )
            listed = list(dict.fromkeys(ids))
        replayed: list[DeadLetter] = []
        for start in range(0, len(listed), REPLAY_BATCH):
            replayed.extend(queue.replay_dead_letters(listed[start : start + REPLAY_BATCH]))
    for letter in replayed:
        console.print(f"replayed {letter.id}: message {letter.message_id}", highlight=False)
    noun = "dead letter" if len(replayed) == 1 else "dead letters"
    console.print(f"{len(replayed)} {noun} queued again", highlight=False)
    gone = len(listed) - len(replayed)
    if gone:  # replayed by someone else between the listing and the replay
        console.print(f"{gone} left the list meanwhile (replayed by someone else)", highlight=False)


def _row(letter: DeadLetter) -> tuple[str, str, str, str, str]:
    died = datetime.fromtimestamp(letter.died_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    error = " ".join(letter.error.split())  # one line per dead letter
    return (letter.id, letter.message_id, str(letter.attempts), died, error)


@contextmanager
def _open_queue() -> Iterator[Queue]:
    """The configured queue, or exit 1 naming the backend when it cannot be reached."""
    import redis  # here, not at the top: importing it would slow every other command's start

    from frontdesk.queue import open_queue

    settings = settings_or_exit()
    try:
        queue = open_queue(settings)
    except (redis.RedisError, sqlite3.Error, OSError) as exc:
        raise _unreachable(settings.queue.backend, exc) from None
    try:
        yield queue
    except (redis.RedisError, sqlite3.Error) as exc:
        raise _unreachable(settings.queue.backend, exc) from None
    finally:
        queue.close()


def _unreachable(backend: str, exc: Exception) -> typer.Exit:
    return fail(escape(f"the {backend} queue could not be read: {exc}"))
