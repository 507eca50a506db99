"""A real ``redis-server`` on loopback, for the tests and the benchmark::

    with RedisServer(appendonly=True) as server:
        print(server.url)         # redis://127.0.0.1:<free port>/0
        server.restart()          # same data (its AOF), same port
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from crawler.exceptions import FleetError
from tests.support.engines import free_port

START_TIMEOUT = 20.0


class RedisServer:
    """``redis-server`` in its own temporary folder; with ``appendonly`` every write is fsynced to its AOF."""

    def __init__(self, appendonly: bool = False) -> None:
        self.appendonly = appendonly
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="adwatch-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        executable = shutil.which("redis-server")
        if executable is None:
            raise FleetError("redis-server not found: run `make setup` (Debian package redis-server)")
        command = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                   "--save", "", "--protected-mode", "yes", "--daemonize", "no"]
        if self.appendonly:
            command += ["--appendonly", "yes", "--appendfsync", "always"]
        log = open(self.folder / "redis.log", "ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                if client.ping() and client.info("persistence").get("loading") == 0:
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise FleetError(f"redis-server did not start on port {self.port}; see {self.folder / 'redis.log'}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server: SIGTERM shuts it down cleanly, SIGKILL as a crash."""
        if self.process is None:
            return
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        self.process = None

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()

    def remove(self) -> None:
        self.stop(signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.remove()
