"""Faults on the scaled-out deployment, on private PostgreSQL and Redis servers (the shared ones
on 5432 and 6379 are never touched): nothing lost, nothing answered or applied twice.

The first test is the durability hole a Redis restart without persistence opened: the stream,
its consumer group and the queued jobs are gone, the store still has the messages as
`enqueued`. The last runs a small version of `bench/faults.py`'s scenario."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import IN_CI
from fault_cluster import Cluster
from fault_scenario import Plan, Scenario
from frontdesk.config import load_settings
from frontdesk.runtime.services import Services, build_services
from private_servers import PrivateRedis, missing_binaries


def require_private_servers() -> None:
    why = missing_binaries()
    if why is None:
        return
    if IN_CI:
        pytest.fail(f"{why}, and CI=true requires private servers")
    pytest.skip(why)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    require_private_servers()
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def on_private_redis(data_dir: Path, private_redis: PrivateRedis) -> Iterator[Services]:
    settings = load_settings(
        data_dir=data_dir, queue={"backend": "redis", "redis_url": private_redis.url()}
    )
    built = build_services(settings)
    yield built
    built.close()


def test_a_redis_restarted_empty_loses_no_message(
    on_private_redis: Services, private_redis: PrivateRedis
) -> None:
    services = on_private_redis
    accepted = [services.intake.accept(f"where is parcel {i}?", "api") for i in range(3)]
    worker = services.worker("test")
    worker.stranded_after = timedelta(0)
    worker.requeue_stranded()  # all three still queued: nothing is added
    assert services.queue.depth() == 3

    private_redis.kill()
    private_redis.start()  # empty: no stream, no consumer group, no jobs
    assert services.queue.depth() == 0
    assert worker.run_once() == 0  # the group is made again instead of failing every claim
    later = services.intake.accept("and where is parcel 4?", "api")
    worker.requeue_stranded()  # the three lost ones; the fourth is queued already
    assert services.queue.depth() == 4
    while worker.run_once():
        pass
    states = services.store.count_messages()
    assert states == {"processed": 4}, states
    for message in [*accepted, later]:
        view = services.store.conversation(message.message.conversation_id)
        assert len(view.decisions) == 1


@pytest.mark.slow
def test_kill_restart_and_burst_lose_nothing_and_do_nothing_twice(trained_models: Path) -> None:
    """A worker SIGKILLed while it holds a batch, Redis and PostgreSQL restarted, a burst at ten
    times the rate: 200 distinct messages, four real-time conversations among them."""
    require_private_servers()
    plan = Plan(messages=200, rate=3, kills=1, conversations=4, lease_seconds=5)
    cluster = Cluster(trained_models, plan.workers, plan.lease_seconds, plan.batch_size)
    try:
        cluster.start()
        result = Scenario(plan, cluster).run()
    finally:
        cluster.stop()
    faults = {event["fault"]: event for event in result["faults"]}
    assert set(faults) == {"worker SIGKILL", "redis restarted", "postgres restarted"}, faults
    assert not [event for event in result["faults"] if "error" in event], result["faults"]
    checks = result["checks"]
    assert checks["messages_accepted"] == checks["messages_posted"] == plan.messages, checks
    assert checks["messages_in_store"] == plan.messages, checks
    assert checks["lost"] == 0, checks
    assert checks["without_decision"] == 0, checks
    assert checks["duplicate_decisions"] == checks["duplicate_replies"] == 0, checks
    assert checks["replied_and_handed_off"] == 0, checks
    assert checks["duplicate_side_effects"] == 0, checks
    assert checks["side_effects_applied"] == checks["side_effects_expected"], checks
    for restarted in ("redis restarted", "postgres restarted"):
        assert faults[restarted]["readiness_false_while_down"], faults[restarted]
        assert faults[restarted]["ready_again_after_s"] is not None, faults[restarted]
    cluster.remove()
