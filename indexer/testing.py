"""A real OpenSearch node on loopback, for the tests and the benchmark.

The node is the published ``integ-test-zip`` distribution from Maven Central
(core modules only, no bundled JDK: it runs on the installed Java 17).  It is
fetched once with ``mvn`` into ``.cache/opensearch/`` (git ignores ``/.cache/``),
unpacked there, and each node runs from its own copy in a temporary folder.
OpenSearch refuses to run as root, so as root the node runs as the system user
``adwatch-os`` (created if missing)::

    with OpenSearchNode() as node:
        print(node.url)        # http://127.0.0.1:<free port>
        node.stop(); node.start()   # same data, same port
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

from crawler.config import PROJECT_ROOT

OPENSEARCH_VERSION = "2.19.4"
CACHE_DIR = PROJECT_ROOT / ".cache" / "opensearch"
NODE_USER = "adwatch-os"
START_TIMEOUT = 150.0


class NodeError(RuntimeError):
    """The test node could not be fetched or started; the message names the log to read."""


def artifact(version: str = OPENSEARCH_VERSION) -> str:
    return f"org.opensearch.distribution.integ-test-zip:opensearch:{version}:zip"


def fetch_distribution(version: str = OPENSEARCH_VERSION, cache: Path = CACHE_DIR) -> Path:
    """The distribution zip, downloaded from Maven Central with ``mvn`` on first use."""
    target = cache / f"opensearch-{version}.zip"
    if target.exists():
        return target
    if shutil.which("mvn") is None:
        raise NodeError(f"mvn not found: install Maven, or put the zip of {artifact(version)} at {target}")
    cache.mkdir(parents=True, exist_ok=True)
    command = ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={artifact(version)}", f"-DoutputDirectory={cache}"]
    done = subprocess.run(command, cwd=cache, capture_output=True, text=True, timeout=900)
    if done.returncode or not target.exists():
        raise NodeError(f"could not fetch {artifact(version)} with mvn:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return target


def unpack(zip_path: Path, cache: Path = CACHE_DIR) -> Path:
    """The unpacked distribution (``opensearch-<version>/``), unpacked atomically on first use."""
    home = cache / zip_path.stem
    if (home / "bin" / "opensearch").exists():
        return home
    staging = Path(tempfile.mkdtemp(dir=cache, prefix=".unpack-"))
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.infolist():
            path = Path(archive.extract(member, staging))
            mode = member.external_attr >> 16
            if mode:
                path.chmod(mode & 0o7777)
    shutil.rmtree(home, ignore_errors=True)
    (staging / zip_path.stem).rename(home)
    shutil.rmtree(staging, ignore_errors=True)
    return home


def java_home() -> str:
    """The JDK to run the node: OPENSEARCH_JAVA_HOME, JAVA_HOME, or the ``java`` on PATH."""
    for variable in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(variable):
            return os.environ[variable]
    java = shutil.which("java")
    if java is None:
        raise NodeError("no Java found: install a JDK 11+ (17 recommended) or set JAVA_HOME")
    return str(Path(java).resolve().parent.parent)


def ensure_user(name: str = NODE_USER) -> tuple[int, int] | None:
    """(uid, gid) of the unprivileged user the node runs as, when we are root; ``None`` otherwise."""
    if os.geteuid() != 0:
        return None
    if subprocess.run(["id", "-u", name], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
    import pwd

    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _chown_tree(root: Path, ids: tuple[int, int]) -> None:
    os.chown(root, *ids)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), *ids, follow_symlinks=False)


class OpenSearchNode:
    """One single-node cluster on a free loopback port, security off, small heap."""

    def __init__(self, version: str = OPENSEARCH_VERSION, heap: str = "512m", cache: Path = CACHE_DIR,
                 java_opts: str = "") -> None:
        self.version, self.heap, self.cache, self.java_opts = version, heap, cache, java_opts
        self.port, self.transport_port = free_port(), free_port()
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._ids: tuple[int, int] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "node.log"

    def prepare(self) -> None:
        """Fetch, unpack and copy the node into a fresh folder owned by the node's user."""
        home = unpack(fetch_distribution(self.version, self.cache), self.cache)
        self._ids = ensure_user()
        self.workdir = Path(tempfile.mkdtemp(prefix="adwatch-opensearch-"))
        shutil.copytree(home, self.workdir / "home", symlinks=True)
        for folder in ("data", "logs", "tmp"):
            (self.workdir / folder).mkdir()
        if self._ids:
            _chown_tree(self.workdir, self._ids)

    def _command(self) -> list[str]:
        assert self.workdir is not None
        options = {
            "discovery.type": "single-node", "network.host": "127.0.0.1", "http.port": self.port,
            "transport.port": self.transport_port, "path.data": self.workdir / "data",
            "path.logs": self.workdir / "logs", "cluster.name": "adwatch-test",
            "cluster.routing.allocation.disk.threshold_enabled": "false",
        }
        command = [str(self.workdir / "home" / "bin" / "opensearch"), *(f"-E{k}={v}" for k, v in options.items())]
        if self._ids:
            uid, gid = self._ids
            command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *command]
        return command

    def start(self, timeout: float = START_TIMEOUT) -> OpenSearchNode:
        """Start the node (preparing it on first start) and wait until the cluster is yellow or green."""
        if self.workdir is None:
            self.prepare()
        assert self.workdir is not None
        env = {**os.environ, "OPENSEARCH_JAVA_HOME": java_home(), "OPENSEARCH_TMPDIR": str(self.workdir / "tmp"),
               "OPENSEARCH_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap} {self.java_opts}".strip()}
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                            cwd=self.workdir, start_new_session=True)
        atexit.register(self.stop)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NodeError(f"OpenSearch exited with {self.process.returncode}; see {self.log_file}:\n"
                                + self._log_tail())
            if self.healthy():
                return
            time.sleep(0.5)
        self.stop()
        raise NodeError(f"OpenSearch not ready after {timeout:.0f}s; see {self.log_file}:\n{self._log_tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s",
                                        timeout=5) as answer:
                return answer.status == 200
        except OSError:
            return False

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 60) -> None:
        """Stop the node (SIGTERM, then SIGKILL after ``timeout``); its data stays for a restart."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop the node and delete its folder."""
        self.stop()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> OpenSearchNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.remove()
