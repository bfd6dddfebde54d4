"""The service as ``make chaos`` runs it: Redis (one server, or a master, a replica and three
sentinels), the emulator, the API and workers, all real processes on 127.0.0.1, each of which a
scenario may kill, stop or restart."""
import collections
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openstack
import yaml
from openstack.config.loader import OpenStackConfig

from .dev_webhooks import LOCAL_DELIVERY, write_webhook_keys
from .emulator_client import EmulatorClient, EmulatorProcess
from .localredis import LocalRedis, free_port
from .processes import start_logged, stop_process
from .redis_sentinel import SentinelGroup

# Quick timeouts, so that dead workers' jobs and polls are taken over within seconds.
SERVICE_SETTINGS = {"POLL_INTERVAL": "2", "POLL_LEASE": "6", "OPENSTACK_TIMEOUT": "4",
                    "JOB_VISIBILITY_TIMEOUT": "6", "BUILD_POLL_INTERVAL": "0.5",
                    "JOB_BACKOFF_MAX": "5", "SHUTDOWN_TIMEOUT": "2", "CREATE_WAIT": "2",
                    "WRITES_PER_MINUTE": "100000", "LIVE_READS_PER_MINUTE": "100000",
                    "WORKER_METRICS_PORT": "0",  # several workers on one machine: any free port
                    # attempts within 2 s, then at most a minute apart, for 14 minutes
                    "WEBHOOK_RETRY_SCHEDULE": "0,2,5,10,30" + ",60" * 14, "WEBHOOK_TIMEOUT": "3",
                    **LOCAL_DELIVERY}


@dataclass(frozen=True)
class StackPlan:
    """How a scenario's stack differs from the default: Redis behind Sentinel, settings, the
    emulator's flags."""

    sentinel: bool = False
    settings: Mapping[str, str] = field(default_factory=dict)
    emulator: tuple[str, ...] = ()


class ChaosStack:
    """Every process of one run; workers are numbered from 0."""

    def __init__(self, plan: StackPlan, workers: int = 2) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="chaos-"))
        self.sentinels = SentinelGroup() if plan.sentinel else None
        # one Redis, append-only; or the group's master (a scenario kills it, the replica takes over)
        self.redis = self.sentinels.master if self.sentinels else LocalRedis(data_dir=self.dir / "redis")
        self.emulator = EmulatorProcess(self.dir / "emulator", "--build-delay", "1",
                                        "--delete-delay", "0.5", "--quota-instances", "10000",
                                        "--seed-projects", "2", "--clouds-yaml",
                                        str(self.dir / "clouds.yaml"), *plan.emulator)
        self.settings = {**SERVICE_SETTINGS, **plan.settings}
        self.worker_count = workers
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes] | None] = [None] * workers
        self.token = secrets.token_urlsafe(24)
        self.url = ""
        self.client: EmulatorClient | None = None
        self.projects: list[str] = []

    def start(self) -> "ChaosStack":
        """Start everything and wait until the API is ready."""
        if self.sentinels:
            self.sentinels.start()
        else:
            self.redis.start()
        self.client = self.emulator.start()
        clouds = yaml.safe_load((self.dir / "clouds.yaml").read_text())["clouds"]
        self.projects = [entry["auth"]["project_id"] for entry in clouds.values()]
        tokens = self.dir / "tokens.yaml"
        tokens.write_text(yaml.safe_dump({"tokens": [{
            "name": "chaos", "sha256": hashlib.sha256(self.token.encode()).hexdigest(),
            "projects": "*"}]}))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.env = {"REDIS_URL": self.sentinels.url if self.sentinels else self.redis.url,
                    "OS_CLIENT_CONFIG_FILE": str(self.dir / "clouds.yaml"), "API_TOKENS_FILE": str(tokens),
                    "WEBHOOK_KEYS_FILE": str(write_webhook_keys(self.dir / "webhook-keys")),
                    "PORT": str(port), **self.settings}
        self.start_api()
        for index in range(self.worker_count):
            self.start_worker(index)
        self.wait_ready()
        return self

    def start_api(self) -> None:
        """Start the API process."""
        self.api = start_logged([sys.executable, "-m", "app"], self.dir / "api.log", self.env)

    def start_worker(self, index: int) -> None:
        """Start (or restart) worker ``index``."""
        self.workers[index] = start_logged([sys.executable, "-m", "workers"],
                                           self.dir / f"workers-{index}.log", self.env)

    def stop_worker(self, index: int) -> None:
        """Stop worker ``index`` as Kubernetes does (SIGTERM, then SIGKILL after a grace period)."""
        stop_process(self.workers[index], timeout=10)

    def direct_redis_url(self) -> str:
        """Where the data is now: the one Redis, or the master the sentinels name."""
        if self.sentinels is None:
            return self.redis.url
        return f"redis://127.0.0.1:{self.sentinels.master_port()}/0"

    def signal_worker(self, index: int, signum: int) -> None:
        """Send a signal to worker ``index``; after SIGKILL, reap it."""
        worker = self.workers[index]
        if worker is not None and worker.poll() is None:
            os.kill(worker.pid, signum)
            if signum == signal.SIGKILL:
                worker.wait()

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds until ``/readyz`` answers 200."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the API was not ready within {timeout} s; see {self.dir}")

    def nova_servers(self, project_id: str) -> list[Any]:
        """Every server Nova (the emulator) holds in the project, read with openstacksdk."""
        config = OpenStackConfig(config_files=[str(self.dir / "clouds.yaml")], load_envvars=False)
        clouds = yaml.safe_load((self.dir / "clouds.yaml").read_text())["clouds"]
        name = next(n for n, entry in clouds.items() if entry["auth"]["project_id"] == project_id)
        connection = openstack.connection.Connection(config=config.get_one(cloud=name))
        try:
            return list(connection.compute.servers())
        finally:
            connection.close()

    def nova_names(self, project_id: str) -> collections.Counter[str]:
        """How many servers of each name Nova holds in the project."""
        return collections.Counter(str(server.name) for server in self.nova_servers(project_id))

    def stop(self) -> None:
        """Stop everything."""
        for process in [*self.workers, self.api]:
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)  # a scenario may have left it stopped
            stop_process(process, timeout=10)
        self.emulator.stop()
        if self.sentinels:
            self.sentinels.stop()
        else:
            self.redis.stop()
