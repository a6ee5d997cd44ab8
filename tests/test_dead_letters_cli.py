"""`frontdesk dead-letters list|replay` on the embedded queue, as configured (data_dir/queue.db).
The queue methods behind them are tested on both backends in test_queue.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.clock import set_clock
from frontdesk.config import get_settings
from frontdesk.queue.sqlite import SqliteQueue

runner = CliRunner()


NOW = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.fixture
def queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqliteQueue]:
    """The queue file the commands open, through the app's own settings; the clock stands still
    for the test's queue and the commands' alike."""
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    previous = set_clock(lambda: NOW)
    opened = SqliteQueue(get_settings().queue_path, 30, 1)
    yield opened
    opened.close()
    set_clock(previous)
    get_settings.cache_clear()


def bury(queue: SqliteQueue, message_id: str, error: str) -> str:
    """Deliver a message once and fail it: with one attempt allowed it is a dead letter."""
    queue.enqueue([message_id])
    [job] = queue.claim("test", 1, 0)
    dead = queue.retry(job, error, delay_seconds=0)
    assert dead is not None
    return dead.id


def test_list_shows_each_dead_letter_on_one_line(queue: SqliteQueue) -> None:
    assert runner.invoke(app, ["dead-letters", "list"]).output == "no dead letters\n"
    first = bury(queue, "msg-1", "TimeoutError: no\nanswer [5 s]")
    second = bury(queue, "msg-2", "lease expired")
    result = runner.invoke(app, ["dead-letters", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "id  message  attempts  died (UTC)            last error",
        f"{first}   msg-1    1         2023-11-14T22:13:20Z  TimeoutError: no answer [5 s]",
        f"{second}   msg-2    1         2023-11-14T22:13:20Z  lease expired",
    ]
    limited = runner.invoke(app, ["dead-letters", "list", "--limit", "1"])
    assert limited.output.splitlines()[1:] == [
        f"{first}   msg-1    1         2023-11-14T22:13:20Z  TimeoutError: no answer [5 s]",
        "more dead letters than 1: raise --limit to see them",
    ]


def test_replay_queues_the_message_again(queue: SqliteQueue) -> None:
    first, second = bury(queue, "msg-1", "boom"), bury(queue, "msg-2", "boom")
    result = runner.invoke(app, ["dead-letters", "replay", first])
    assert result.exit_code == 0, result.output
    assert result.output == f"replayed {first}: message msg-1\n1 dead letter queued again\n"
    assert [d.id for d in queue.dead_letters()] == [second]
    [job] = queue.claim("test", 10, 0)
    assert (job.message_id, job.attempt) == ("msg-1", 1)


def test_replay_all(queue: SqliteQueue) -> None:
    ids = [bury(queue, f"msg-{i}", "boom") for i in range(3)]
    result = runner.invoke(app, ["dead-letters", "replay", "--all"])
    assert result.exit_code == 0, result.output
    assert f"replayed {ids[2]}: message msg-2" in result.output
    assert "3 dead letters queued again" in result.output
    assert queue.dead_letters() == []
    assert queue.depth() == 3
    assert (
        "0 dead letters queued again"
        in runner.invoke(app, ["dead-letters", "replay", "--all"]).output
    )


def test_replay_refuses_unknown_ids_and_replays_nothing(queue: SqliteQueue) -> None:
    known = bury(queue, "msg-1", "boom")
    result = runner.invoke(app, ["dead-letters", "replay", known, "404", "[bold]x"])
    assert result.exit_code == 2
    assert "no dead letter with id 404, [bold]x" in result.output
    assert "dead-letters list" in result.output
    assert [d.id for d in queue.dead_letters()] == [known]
    assert queue.depth() == 0


def test_replay_needs_ids_or_all_but_not_both(queue: SqliteQueue) -> None:
    known = bury(queue, "msg-1", "boom")
    for arguments in ([], [known, "--all"]):
        result = runner.invoke(app, ["dead-letters", "replay", *arguments])
        assert result.exit_code == 2
        assert "or --all" in result.output
    assert len(queue.dead_letters()) == 1


def test_an_unreachable_redis_queue_exits_1_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_QUEUE__BACKEND", "redis")
    monkeypatch.setenv("FRONTDESK_QUEUE__REDIS_URL", "redis://127.0.0.1:9/0")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["dead-letters", "list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "the redis queue could not be read" in result.output


def test_a_replayed_message_is_processed_by_the_next_worker_pass(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from frontdesk.runtime.services import build_services

    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FRONTDESK_QUEUE__MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    services = build_services(get_settings())
    try:
        accepted = services.intake.accept("how long does a refund take?", "api")
        message_id = accepted.message.id
        # What the worker does when the one delivery allowed fails.
        [job] = services.queue.claim("test", 1, 0)
        assert services.queue.retry(job, "OperationalError: database is locked", 0) is not None
        services.store.mark_dead(message_id, "OperationalError: database is locked")
        assert services.worker("test").run_once() == 0
        listed = runner.invoke(app, ["dead-letters", "list"])
        assert message_id in listed.output and "database is locked" in listed.output
        replayed = runner.invoke(app, ["dead-letters", "replay", "--all"])
        assert replayed.exit_code == 0, replayed.output
        assert f"message {message_id}" in replayed.output
        assert services.worker("test").run_once() == 1
        view = services.store.conversation(accepted.message.conversation_id)
        assert view.messages[0].state == "processed"
        assert len(view.decisions) == 1
        assert services.queue.dead_letters() == [] and services.queue.depth() == 0
    finally:
        services.close()
        get_settings.cache_clear()
