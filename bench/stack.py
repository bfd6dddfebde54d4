"""What the benchmarks run: Redis, the seeded emulator, the API and the workers as real processes
on 127.0.0.1, configured through files and environment variables as in production."""
import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.access.token_file import add_token
from devtools.emulator_client import EmulatorClient
from devtools.localredis import free_port
from devtools.processes import start_logged, stop_process


@dataclass
class Projects:
    """Emulated projects with the files the service reads for them."""

    directory: Path
    access: list[dict[str, Any]]
    token: str
    clouds_file: Path = field(init=False)
    tokens_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.clouds_file = self.directory / "clouds.yaml"
        self.tokens_file = self.directory / "tokens.yaml"

    @property
    def ids(self) -> list[str]:
        """The projects' ids."""
        return [a["project_id"] for a in self.access]


def make_projects(directory: Path, emulator: EmulatorClient, servers: list[int],
                  **settings: Any) -> Projects:
    """A project per entry of ``servers`` with that many ACTIVE servers, a clouds.yaml naming
    them all and a token for all of them."""
    directory.mkdir(parents=True, exist_ok=True)
    access = [emulator.create_project(servers=count, **settings) for count in servers]
    clouds = {f"bench-{n}": a["cloud"] for n, a in enumerate(access)}
    (directory / "clouds.yaml").write_text(yaml.safe_dump({"clouds": clouds}))
    _, token = add_token(directory / "tokens.yaml", [a["project_id"] for a in access], "bench")
    return Projects(directory, access, token)


def environ(redis_url: str, projects: Projects, **overrides: Any) -> dict[str, str]:
    """The service's environment for these projects (WARNING logs: the access log off)."""
    values = {"REDIS_URL": redis_url, "OS_CLIENT_CONFIG_FILE": str(projects.clouds_file),
              "API_TOKENS_FILE": str(projects.tokens_file), "LOG_LEVEL": "WARNING",
              "WORKER_METRICS_PORT": "0"}
    values.update({key.upper(): str(value) for key, value in overrides.items()})
    return values


def wait_for(url: str, headers: dict[str, str] | None = None, timeout: float = 60.0) -> None:
    """Until ``url`` answers 2xx."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass
class Api:
    """A running API process."""

    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        """Terminate it."""
        stop_process(self.process, timeout=15)


def start_api(projects: Projects, redis_url: str, log: Path, **overrides: Any) -> Api:
    """``python -m app`` on a free port; returns once it is ready."""
    port = free_port()
    process = start_logged([sys.executable, "-m", "app"], log,
                           environ(redis_url, projects, port=port, **overrides))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/readyz")
    except OSError:
        stop_process(process)
        raise RuntimeError(f"the API did not start; see {log}") from None
    return Api(process, url)


def start_workers(projects: Projects, redis_url: str, logs: list[Path],
                  **overrides: Any) -> list[subprocess.Popen[bytes]]:
    """One ``python -m workers`` per log file."""
    return [start_logged([sys.executable, "-m", "workers"], log, environ(redis_url, projects, **overrides))
            for log in logs]


def get_json(url: str, token: str) -> Any:
    """A GET answered as JSON (the benchmark's own reads)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def load(url: str, headers: dict[str, str], connections: int, seconds: float,
         generator: str = "auto") -> dict[str, Any]:
    """Drive ``url`` from the load generator's own process (``bench.load``); its figures."""
    header_arguments = [a for k, v in headers.items() for a in ("--header", f"{k}: {v}")]
    arguments = [sys.executable, "-m", "bench.load", url, "--connections", str(connections),
                 "--seconds", str(seconds), "--generator", generator, *header_arguments]
    result: dict[str, Any] = json.loads(
        subprocess.run(arguments, capture_output=True, text=True, check=True).stdout)
    return result


def wait_until_idle(emulator: EmulatorClient, seconds: float = 1.0, timeout: float = 120.0) -> None:
    """Until ``seconds`` pass with no OpenStack request (the emulator's own control calls aside):
    the workers' first polls are done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        first = emulator.last_request_seq()
        time.sleep(seconds)
        if all(r["service"] == "control" for r in emulator.requests(after=first)):
            return
    raise RuntimeError(f"the workers were still calling OpenStack after {timeout:g} s")


def wait_until_warm(emulator: EmulatorClient, seconds: float = 5.0, share: float = 0.01,
                    timeout: float = 1800.0) -> None:
    """Until the workers' token requests are under ``share`` of what the emulator sees in a
    window of ``seconds``: each worker then holds a token and a catalog for nearly every project,
    as it does in its steady state (and as the raw baselines do before they are timed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        first = emulator.last_request_seq()
        time.sleep(seconds)
        seen = emulator.last_request_seq() - first
        if seen > 0 and len(emulator.requests(service="identity", after=first)) <= share * seen:
            return
    raise RuntimeError(f"the workers were still fetching tokens after {timeout:g} s")
