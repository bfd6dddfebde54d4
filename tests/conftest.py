"""Fixtures shared by every test: a real Redis server, the OpenStack emulator over HTTP, and the
API as a process of its own."""
import io
import logging
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.core.logs import configure_logging
from devtools.emulator_client import EmulatorClient, EmulatorProcess
from devtools.localredis import LocalRedis, free_port
from devtools.processes import start_logged, stop_process
from tests.support import EmulatedProject, service_environ, write_service_files

TIERS = ("unit", "component", "service", "emulator", "deploy")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test carries its tier's marker: the folder it sits in under tests/."""
    for item in items:
        tier = item.path.relative_to(Path(__file__).parent).parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: a test belongs in one of tests/{{{','.join(TIERS)}}}/")
        item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedis]:
    """One redis-server for the session, on a free 127.0.0.1 port, persistence off."""
    with LocalRedis() as server:
        yield server


@pytest.fixture
async def redis(redis_server: LocalRedis) -> AsyncIterator[aioredis.Redis]:
    """A client of an empty database: flushed before each test."""
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def start_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., EmulatorClient]]:
    """Start emulators with given flags (each once per session); all stop at the end."""
    started: dict[tuple[str, ...], tuple[EmulatorProcess, EmulatorClient]] = {}

    def start(*args: str) -> EmulatorClient:
        if args not in started:
            process = EmulatorProcess(tmp_path_factory.mktemp("emulator"), *args)
            started[args] = (process, process.start())
        return started[args][1]

    yield start
    for process, _ in started.values():
        process.stop()


@pytest.fixture(scope="session")
def emulator(start_emulator: Callable[..., EmulatorClient]) -> EmulatorClient:
    """The session's emulator: builds take 1 s and deletes 0.5 s."""
    return start_emulator("--build-delay", "1", "--delete-delay", "0.5")


@pytest.fixture
def project_factory(emulator: EmulatorClient, tmp_path: Path) -> Iterator[Callable[..., EmulatedProject]]:
    """Make fresh projects in an emulator; their SDK connections are closed afterwards."""
    made: list[EmulatedProject] = []

    def make(servers: int = 0, client: EmulatorClient | None = None, **settings) -> EmulatedProject:
        client = client or emulator
        access = client.create_project(servers=servers, **settings)
        project = EmulatedProject(client, access, tmp_path / f"clouds-{len(made)}.yaml")
        made.append(project)
        return project

    yield make
    for project in made:
        project.close()


@pytest.fixture
def project(project_factory: Callable[..., EmulatedProject]) -> EmulatedProject:
    """A fresh project with three ACTIVE servers."""
    return project_factory(servers=3)


@dataclass
class LiveApi:
    """The API as a process of its own, for clients that block (a generated client, a CLI)."""

    url: str
    token: str
    project_id: str
    directory: Path


@pytest.fixture(scope="module")
def live_api(emulator, redis_server, tmp_path_factory):
    """``python -m app`` on a free port, over a project with two servers (one volume-booted)."""
    directory = tmp_path_factory.mktemp("conformance")
    project = EmulatedProject(emulator, emulator.create_project(servers=2), directory / "own.yaml")
    clouds_file, tokens_file, tokens = write_service_files(directory, [project])
    port = free_port()
    environ = {**service_environ(redis_server.url, clouds_file, tokens_file), "PORT": str(port),
               "CREATE_WAIT": "0", "WRITES_PER_MINUTE": "100000", "LIVE_READS_PER_MINUTE": "100000"}
    process = start_logged([sys.executable, "-m", "app"], directory / "api.log", environ)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/readyz", timeout=1).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "the API did not start"
            time.sleep(0.1)
    yield LiveApi(url, tokens["admin"], project.id, directory)
    stop_process(process)
    project.close()


class ServiceLog:
    """What the service writes to stderr, from the moment a test starts capturing it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self._stream = io.StringIO()

    def capture(self) -> None:
        """From now on, stderr is kept (pytest sets its own stderr up to the test's start, so
        this is called from the test itself)."""
        self._monkeypatch.setattr(sys, "stderr", self._stream)

    def configure(self, level: str) -> None:
        """Capture, and configure logging as the service does at start with ``LOG_LEVEL``."""
        self.capture()
        configure_logging(level)

    def text(self) -> str:
        """Everything written so far."""
        return self._stream.getvalue()


@pytest.fixture
def service_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceLog]:
    """The service's log lines in a test; the root logger's handlers and level are put back
    after it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield ServiceLog(monkeypatch)
    root.handlers[:] = handlers
    root.setLevel(level)
