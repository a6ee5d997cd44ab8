"""frontdesk scaled out as users run it, on servers of its own that faults may take down:
a private PostgreSQL and Redis, `frontdesk serve --no-worker` for intake over HTTP, and
`frontdesk worker` processes, each a real child process."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import tempfile
import time
from pathlib import Path

import httpx
import redis

from frontdesk.training.models_dir import model_dir
from private_servers import PrivatePostgres, PrivateRedis
from server import ServerProcess

QUEUE_NAME = "frontdesk"


class Cluster:
    def __init__(self, models: Path, workers: int, lease_seconds: float, batch_size: int) -> None:
        """`models`: a trained intent model registry (`model_dir` of a data dir after a first
        start), copied in, so no process trains one."""
        self.folder = Path(tempfile.mkdtemp(prefix="frontdesk-faults-"))
        shutil.copytree(models, model_dir(self.folder / "data"))
        self.postgres = PrivatePostgres()
        self.redis = PrivateRedis(self.folder / "redis")
        self.size = workers
        self.workers: list[ServerProcess] = []
        self.names: list[str] = []
        self.started_workers = 0
        self.killed: set[int] = set()  # pids of the workers a fault SIGKILLed
        self.lease_seconds = lease_seconds
        self.batch_size = batch_size
        self.serve: ServerProcess | None = None
        self.store_url = ""

    def env(self) -> dict[str, str]:
        return {
            "FRONTDESK_DATA_DIR": str(self.folder / "data"),
            "FRONTDESK_STORE__URL": self.store_url,
            "FRONTDESK_QUEUE__BACKEND": "redis",
            "FRONTDESK_QUEUE__REDIS_URL": self.redis.url(),
            "FRONTDESK_QUEUE__NAME": QUEUE_NAME,
            "FRONTDESK_QUEUE__LEASE_SECONDS": str(self.lease_seconds),
            "FRONTDESK_WORKER__BATCH_SIZE": str(self.batch_size),
            # Conversations are many per address and quick: the limits are for strangers.
            "FRONTDESK_LIMITS__MESSAGES_PER_CONVERSATION_PER_MINUTE": "1000",
        }

    def start(self) -> None:
        self.postgres.start()
        self.store_url = self.postgres.create_database("frontdesk")
        self.redis.start()
        # The first start migrates and seeds the store; the workers start on a complete one.
        self.serve = ServerProcess(self.env(), self.folder / "serve.log", ("serve", "--no-worker"))
        self.serve.start(timeout=600)
        for _ in range(self.size):
            self.workers.append(self._new_worker())
        self._wait_workers_started(timeout=600)

    def _wait_workers_started(self, timeout: float) -> None:
        """Until every worker logged that its loop runs (models loaded, queue reached)."""
        deadline = time.monotonic() + timeout
        waiting = list(self.workers)
        while waiting:
            self.check_alive()
            waiting = [w for w in waiting if '"worker.started"' not in _tail(w.log_path, 400)]
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(f"workers not started in {timeout} s:\n{self.report()}")
            time.sleep(0.2)

    def _new_worker(self) -> ServerProcess:
        self.started_workers += 1
        name = f"worker-{self.started_workers}"
        self.names.append(name)
        log = self.folder / f"{name}.log"
        worker = ServerProcess(self.env(), log, ("worker", "--name", name))
        worker.start(wait_ready=False)
        return worker

    @property
    def url(self) -> str:
        assert self.serve is not None
        return self.serve.url

    def kill_worker(self, index: int) -> str:
        """SIGKILL one worker and start another in its place, as a supervisor does; returns
        the killed one's consumer name."""
        worker = self.workers[index]
        assert worker.process is not None
        self.killed.add(worker.process.pid)
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(10)
        name = self.worker_name(worker)
        self.workers[index] = self._new_worker()
        return name

    def worker_name(self, worker: ServerProcess) -> str:
        return worker.command[-1]

    def pending_of(self, consumer: str) -> list[str]:
        """The message ids a consumer holds claimed and unacknowledged in the stream."""
        client = self.redis_client()
        try:
            stream, group = f"{QUEUE_NAME}:jobs", f"{QUEUE_NAME}:workers"
            held = client.xpending_range(stream, group, "-", "+", 10_000, consumername=consumer)
            ids = []
            for entry in held:
                found = client.xrange(stream, entry["message_id"], entry["message_id"])
                if found:
                    ids.append(found[0][1]["message_id"])
            return ids
        finally:
            client.close()

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url(), decode_responses=True, socket_timeout=2)

    def queue_depth(self) -> int:
        """Jobs not yet acknowledged: the stream (waiting and leased) and the delayed retries."""
        client = self.redis_client()
        try:
            stream = f"{QUEUE_NAME}:jobs"
            return int(client.xlen(stream)) + int(client.zcard(f"{stream}:delayed"))
        finally:
            client.close()

    def dead_letters(self) -> int:
        client = self.redis_client()
        try:
            return int(client.xlen(f"{QUEUE_NAME}:jobs:dead"))
        finally:
            client.close()

    def processes(self) -> list[ServerProcess]:
        return [*([self.serve] if self.serve else []), *self.workers]

    def check_alive(self) -> None:
        """Raise, with what the process logged, when one exited that no fault killed."""
        for process in self.processes():
            assert process.process is not None
            if process.process.pid in self.killed:
                continue
            if process.process.poll() is not None:
                raise RuntimeError(
                    f"{' '.join(process.command)} exited with {process.process.returncode}:\n"
                    + _tail(process.log_path, 60)
                )

    def report(self) -> str:
        """What each process was doing, and what the queue held: for a run that hangs."""
        parts = []
        try:
            parts.append(f"queue depth {self.queue_depth()}, dead letters {self.dead_letters()}")
        except redis.RedisError as exc:
            parts.append(f"queue unreadable: {exc}")
        for process in self.processes():
            assert process.process is not None
            state = process.process.poll()
            parts.append(
                f"--- {' '.join(process.command)}: "
                + ("running" if state is None else f"exited with {state}")
                + "\n"
                + _tail(process.log_path, 25)
            )
        return "\n".join(parts)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def requeued_by_sweeps(self) -> int:
        """Messages the workers' sweeps put back in the queue (from their logs)."""
        total = 0
        for log in self.folder.glob("worker-*.log"):
            for line in log.read_text(errors="replace").splitlines():
                if '"intake.requeued_stranded"' in line:
                    with contextlib.suppress(ValueError):
                        total += int(json.loads(line).get("count", 0))
        return total

    def restart_redis(self, down_seconds: float) -> tuple[float, float]:
        """Crash Redis (its data goes with it) and start it again; returns when it went down and
        when it answered again (monotonic)."""
        self.redis.kill()
        down = time.monotonic()
        time.sleep(down_seconds)
        self.redis.start()
        return down, time.monotonic()

    def restart_postgres(self, down_seconds: float) -> tuple[float, float]:
        self.postgres.stop("immediate")
        down = time.monotonic()
        time.sleep(down_seconds)
        self.postgres.start()
        return down, time.monotonic()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self.serve is not None:
            self.serve.stop()
        self.redis.stop()
        self.postgres.remove()

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _tail(log: Path, lines: int) -> str:
    if not log.is_file():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
