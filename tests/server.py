"""Run `frontdesk serve` as a real child process, the way a user starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


BIND_ATTEMPTS = 3


class PortTaken(Exception):
    """The server could not bind its port: another process took it first."""


class ServerProcess:
    def __init__(
        self, env: dict[str, str], log_path: Path, command: tuple[str, ...] = ("serve",)
    ) -> None:
        self.command = command
        self.port = free_port()
        self.env = {
            **os.environ,
            # Fitting the reply-confidence calibration replays the dev split: not per test.
            "FRONTDESK_ROUTING__CALIBRATE_AT_START": "false",
            # Tests and benchmarks post from one address far faster than people do.
            "FRONTDESK_LIMITS__MESSAGES_PER_ADDRESS_PER_MINUTE": "1000000",
            **env,
            "FRONTDESK_SERVER__PORT": str(self.port),
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60, wait_ready: bool = True) -> None:
        # A port free when it was picked can be taken by a parallel test before the server
        # binds it: then the server exits at once, and it starts again on another port.
        for _ in range(BIND_ATTEMPTS - 1):
            try:
                return self._start(timeout, wait_ready)
            except PortTaken:
                self.port = free_port()
                self.env["FRONTDESK_SERVER__PORT"] = str(self.port)
        return self._start(timeout, wait_ready)

    def _start(self, timeout: float, wait_ready: bool) -> None:
        written = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "frontdesk", *self.command], env=self.env, stdout=log, stderr=log
        )
        if not wait_ready:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if b"address already in use" in self.log_path.read_bytes()[written:]:
                    raise PortTaken(self.port)
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout} s: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def pause(self) -> None:
        """Freeze the process where it is (SIGSTOP), so its state can be looked at unchanged;
        returns once the kernel reports it stopped."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        stat = Path(f"/proc/{self.process.pid}/stat")
        for _ in range(1000):
            if stat.read_text().rsplit(")", 1)[1].split()[0] in {"T", "t"}:
                return
            time.sleep(0.01)
        raise RuntimeError("the server did not stop")

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
