"""A Redis master, its replica and three sentinels on 127.0.0.1, from the same redis-server binary
(``redis-server <conf> --sentinel``), for failover tests and for trying one by hand."""
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from .localredis import LocalRedis, RedisUnavailable, find_redis_server, free_port
from .processes import stop_process

MASTER_NAME = "cloud-servers"


def _answer(port: int, ask: Callable[[redis.Redis], Any]) -> Any:
    """What ``ask`` gets from the server on ``port``, or None if it cannot be reached."""
    try:
        with redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1) as client:
            return ask(client)
    except redis.RedisError:
        return None


class SentinelGroup:
    """A master, a replica of it, and sentinels that fail over ``down_after_ms`` after the master
    stops answering (a quorum of two)."""

    def __init__(self, sentinels: int = 3, down_after_ms: int = 1000,
                 failover_timeout_ms: int = 5000) -> None:
        self.binary = find_redis_server()
        self.master = LocalRedis(binary=self.binary)
        self.replica = LocalRedis(binary=self.binary,
                                  extra=("--replicaof", "127.0.0.1", str(self.master.port)))
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        self._down_after_ms = down_after_ms
        self._failover_timeout_ms = failover_timeout_ms
        self._workdir = tempfile.TemporaryDirectory(prefix="sentinels-")
        self._sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """The service's ``REDIS_URL`` for this group (database 0)."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{MASTER_NAME}/0"

    def start(self, timeout: float = 20.0) -> "SentinelGroup":
        """Start the master, the replica (until it is in sync) and the sentinels (until each
        knows the master and its replica)."""
        self.master.start()
        self.replica.start()
        self._wait(lambda: (_answer(self.replica.port, lambda r: r.info("replication")) or {}).get(
            "master_link_status") == "up", timeout, "the replica did not sync with the master")
        for port in self.sentinel_ports:
            config = Path(self._workdir.name) / f"sentinel-{port}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self._workdir.name}\n"
                f"logfile {self._workdir.name}/sentinel-{port}.log\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} {self._down_after_ms}\n"
                f"sentinel failover-timeout {MASTER_NAME} {self._failover_timeout_ms}\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n")
            self._sentinels.append(subprocess.Popen([self.binary, str(config), "--sentinel"],
                                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in self.sentinel_ports:
            self._wait(lambda port=port: (_answer(port, lambda r: r.sentinel_master(MASTER_NAME)) or {}).get(
                "num-slaves") == 1, timeout, f"sentinel {port} did not find the master and its replica")
        return self

    def master_port(self) -> int | None:
        """The master's port as the first sentinel that answers names it."""
        for port in self.sentinel_ports:
            address = _answer(port, lambda r: r.sentinel_get_master_addr_by_name(MASTER_NAME))
            if address:
                return int(address[1])
        return None

    def kill_master(self) -> None:
        """SIGKILL the master: what a node's death looks like to the sentinels."""
        if self.master.pid is not None:
            os.kill(self.master.pid, signal.SIGKILL)
            self.master.halt()  # reaps it

    def wait_for_failover(self, timeout: float = 20.0) -> None:
        """Until the sentinels name the replica as the master."""
        self._wait(lambda: self.master_port() == self.replica.port, timeout,
                   "the sentinels did not promote the replica")

    def stop(self) -> None:
        """Stop every process and remove their files."""
        for sentinel in self._sentinels:
            stop_process(sentinel, 5)
        self._sentinels = []
        self.replica.stop()
        self.master.stop()
        self._workdir.cleanup()

    def __enter__(self) -> "SentinelGroup":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @staticmethod
    def _wait(condition: Callable[[], bool], timeout: float, failure: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RedisUnavailable(failure)
            time.sleep(0.1)
