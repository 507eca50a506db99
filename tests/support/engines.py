"""Real search-engine nodes on loopback, for the tests and the benchmarks.

Each node is a published ``integ-test-zip`` distribution from Maven Central
(core modules only, no bundled JDK: it runs on the installed Java 17):
OpenSearch 2.19 and Elasticsearch 8.19.  A distribution is fetched once with
``mvn`` into ``.cache/<engine>/`` (git ignores ``/.cache/``), unpacked there,
and each node runs from its own copy in a temporary folder.  Neither engine
runs as root, so as root the node runs as the system user ``adwatch-os``
(created if missing)::

    with OpenSearchNode() as node:          # or ElasticsearchNode()
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
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from crawler.config import PROJECT_ROOT
from indexer.clients import EngineClient, make_client

OPENSEARCH_VERSION = "2.19.4"
ELASTICSEARCH_VERSION = "8.19.0"
CACHE_ROOT = PROJECT_ROOT / ".cache"
NODE_USER = "adwatch-os"
START_TIMEOUT = 150.0


class NodeError(RuntimeError):
    """The test node could not be fetched or started; the message names the log to read."""


@dataclass(frozen=True)
class Distribution:
    """One engine's ``integ-test-zip`` on Maven Central and how its launcher is configured."""

    name: str  # artifact id, launcher and folder name: opensearch, elasticsearch
    group: str
    version: str
    env_prefix: str  # OPENSEARCH_ or ES_: <prefix>JAVA_HOME, <prefix>JAVA_OPTS, <prefix>TMPDIR
    kind: str  # the engine's name in ADWATCH_INDEX and make_client: opensearch, es
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def artifact(self) -> str:
        return f"{self.group}:{self.name}:{self.version}:zip"

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


OPENSEARCH = Distribution("opensearch", "org.opensearch.distribution.integ-test-zip", OPENSEARCH_VERSION,
                          "OPENSEARCH_", "opensearch")
# The test zip has security but no certificates: plain HTTP; and no machine learning module to turn off.
ELASTICSEARCH = Distribution("elasticsearch", "org.elasticsearch.distribution.integ-test-zip",
                             ELASTICSEARCH_VERSION, "ES_", "es", (("xpack.security.enabled", "false"),))


def fetch_distribution(dist: Distribution, cache: Path) -> Path:
    """The distribution zip, downloaded from Maven Central with ``mvn`` on first use."""
    target = cache / f"{dist.folder}.zip"
    if target.exists():
        return target
    if shutil.which("mvn") is None:
        raise NodeError(f"mvn not found: install Maven, or put the zip of {dist.artifact} at {target}")
    cache.mkdir(parents=True, exist_ok=True)
    command = ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={dist.artifact}", f"-DoutputDirectory={cache}"]
    done = subprocess.run(command, cwd=cache, capture_output=True, text=True, timeout=900)
    if done.returncode or not target.exists():
        raise NodeError(f"could not fetch {dist.artifact} with mvn:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return target


def unpack(zip_path: Path, launcher: str) -> Path:
    """The unpacked distribution beside its zip, unpacked atomically on first use."""
    cache = zip_path.parent
    home = cache / zip_path.stem
    if (home / "bin" / launcher).exists():
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


def java_home(env_prefix: str) -> str:
    """The JDK to run the node: <prefix>JAVA_HOME, JAVA_HOME, or the ``java`` on PATH."""
    for variable in (f"{env_prefix}JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(variable):
            return os.environ[variable]
    java = shutil.which("java")
    if java is None:
        raise NodeError("no Java found: install a JDK 17 or set JAVA_HOME")
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


class EngineNode:
    """One single-node cluster on a free loopback port, security off, small heap."""

    distribution: ClassVar[Distribution]

    def __init__(self, heap: str = "512m", cache: Path | None = None, java_opts: str = "") -> None:
        dist = self.distribution
        self.heap, self.java_opts = heap, java_opts
        self.cache = cache or CACHE_ROOT / dist.name
        self.port, self.transport_port = free_port(), free_port()
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._ids: tuple[int, int] | None = None

    @property
    def engine(self) -> str:
        return self.distribution.name

    @property
    def kind(self) -> str:
        return self.distribution.kind

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def index_url(self) -> str:
        """The node as ``ADWATCH_INDEX`` names it: ``opensearch+http://…`` or ``es+http://…``."""
        return f"{self.kind}+{self.url}"

    def client(self) -> EngineClient:
        return make_client(self.kind, self.url)

    @property
    def log_file(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "node.log"

    def prepare(self) -> None:
        """Fetch, unpack and copy the node into a fresh folder owned by the node's user."""
        dist = self.distribution
        home = unpack(fetch_distribution(dist, self.cache), dist.name)
        self._ids = ensure_user()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"adwatch-{dist.name}-"))
        shutil.copytree(home, self.workdir / "home", symlinks=True)
        for folder in ("data", "logs", "tmp"):
            (self.workdir / folder).mkdir()
        if self._ids:
            _chown_tree(self.workdir, self._ids)

    def _command(self) -> list[str]:
        assert self.workdir is not None
        dist = self.distribution
        options = {
            "discovery.type": "single-node", "network.host": "127.0.0.1", "http.port": self.port,
            "transport.port": self.transport_port, "path.data": self.workdir / "data",
            "path.logs": self.workdir / "logs", "cluster.name": "adwatch-test",
            "cluster.routing.allocation.disk.threshold_enabled": "false", **dict(dist.settings),
        }
        command = [str(self.workdir / "home" / "bin" / dist.name), *(f"-E{k}={v}" for k, v in options.items())]
        if self._ids:
            uid, gid = self._ids
            command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *command]
        return command

    def _environment(self) -> dict[str, str]:
        assert self.workdir is not None
        prefix = self.distribution.env_prefix
        return {**os.environ, f"{prefix}JAVA_HOME": java_home(prefix), f"{prefix}TMPDIR": str(self.workdir / "tmp"),
                f"{prefix}JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap} {self.java_opts}".strip()}

    def start(self, timeout: float = START_TIMEOUT) -> EngineNode:
        """Start the node (preparing it on first start) and wait until the cluster is yellow or green."""
        if self.workdir is None:
            self.prepare()
        assert self.workdir is not None
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT,
                                            env=self._environment(), cwd=self.workdir, start_new_session=True)
        atexit.register(self.stop)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NodeError(f"{self.engine} exited with {self.process.returncode}; see {self.log_file}:\n"
                                + self._log_tail())
            if self.healthy():
                return
            time.sleep(0.5)
        self.stop()
        raise NodeError(f"{self.engine} not ready after {timeout:.0f}s; see {self.log_file}:\n{self._log_tail()}")

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

    def __enter__(self) -> EngineNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.remove()


class OpenSearchNode(EngineNode):
    distribution = OPENSEARCH


class ElasticsearchNode(EngineNode):
    distribution = ELASTICSEARCH
