"""Private Redis and PostgreSQL servers on free loopback ports, for tests and benchmarks that stop
and restart them: the shared servers on 5432 and 6379 serve other tests at the same time and must
never be touched.

The Redis server keeps nothing on disk (`--save "" --appendonly no`), so a restart empties it,
as a Redis without persistence does. The PostgreSQL cluster lives in a temporary folder with
trust authentication on loopback; `fsync=off` spares the shared machine's disk (the operating
system does not crash here, so nothing committed is lost by a server stop). As root, initdb and
the server run as the `postgres` user, which PostgreSQL requires.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

from server import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def missing_binaries() -> str | None:
    """Why private servers cannot run here, or None when they can."""
    if not Path(REDIS_SERVER).is_file():
        return f"no redis-server at {REDIS_SERVER}"
    for name in ("initdb", "pg_ctl"):
        if not (POSTGRES_BIN / name).is_file():
            return f"no {name} in {POSTGRES_BIN}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run PostgreSQL as"
    return None


def wait_for(condition: Callable[[], object], what: str, bound: float = 60) -> None:
    deadline = time.monotonic() + bound
    while True:
        try:
            if condition():
                return
        except Exception:  # not up yet
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {bound} s")
        time.sleep(0.05)


class PrivateRedis:
    """`redis-server` on a port of its own; `kill` is a crash (SIGKILL), `start` a fresh one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.log = folder / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        client = redis.Redis(port=self.port, socket_timeout=1)
        try:
            wait_for(client.ping, f"redis-server on port {self.port}")
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class PrivatePostgres:
    """A PostgreSQL 15 cluster of its own; `stop` is an immediate shutdown (no checkpoint, crash
    recovery at the next start, as after a crash of the server)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="frontdesk-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.log = self.folder / "postgres.log"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            shutil.chown(self.folder, self.user, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(POSTGRES_BIN / tool), *args],
            check=True,
            user=self.user,
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        wait_for(lambda: psycopg.connect(self.admin_url).close() is None, "private PostgreSQL")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
