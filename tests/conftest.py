"""Fixtures shared by every test: a real Redis server and the OpenStack emulator over HTTP."""
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from devtools.emulator_client import EmulatorClient, EmulatorProcess
from devtools.localredis import LocalRedis
from tests.openstack_helpers import EmulatedProject


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
