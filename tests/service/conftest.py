"""Fixtures for the service: its files, the API app, and pollers run in-process."""
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.api.application import create_app
from app.api.serving import ApiRunner
from app.core.times import Clock
from app.process.composition import open_api_services
from app.process.settings import Settings
from devtools.localredis import LocalRedis
from devtools.processes import start_logged, stop_process
from tests.service.webhook_helpers import Receiver
from tests.support import ServiceSetup, service_environ, write_service_files
from workers.__main__ import run_workers


class ApiTestServer(TestServer):
    """aiohttp's test server, running the app with the service's own runner."""

    async def _make_runner(self, **kwargs) -> ApiRunner:
        return ApiRunner(self.app, **kwargs)


@pytest.fixture
def own_redis():
    """A redis-server of the test's own, without persistence, for tests that stop, restart or
    fill it (never the session's shared one)."""
    with LocalRedis() as server:
        yield server


@pytest.fixture
def service(project_factory, redis, redis_server, tmp_path) -> Callable[..., ServiceSetup]:
    """Make a service set-up: ``projects`` emulated projects with ``servers`` each."""
    def make(projects: int = 1, servers: int = 3, unconfigured: list[str] = (),
             **overrides) -> ServiceSetup:
        made = [project_factory(servers=servers) for _ in range(projects)]
        clouds_file, tokens_file, tokens = write_service_files(tmp_path, made, unconfigured)
        environ = service_environ(redis_server.url, clouds_file, tokens_file, **overrides)
        return ServiceSetup(Settings.from_env(environ), environ, made, tokens)

    return make


@pytest.fixture
def api_client(aiohttp_client) -> Callable[[Settings], "asyncio.Future[TestClient]"]:
    """Start the API app on the test loop, served as in production (``ApiRunner``), for some
    settings (and a clock, if not the real one)."""
    async def start(settings: Settings, clock: Clock = time.time) -> TestClient:
        return await aiohttp_client(ApiTestServer(create_app(settings, open_api_services, clock)))

    return start


@pytest.fixture
async def listed_service(service, api_client):
    """A project with two servers, the API, and the servers it lists."""
    setup = service(servers=2)
    client = await api_client(setup.settings)
    listed = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                     headers=setup.headers())).json()
    return setup, client, listed


@pytest.fixture
def workers_running() -> Callable:
    """Run the workers in-process for the duration of an ``async with``."""
    @asynccontextmanager
    async def running(settings: Settings) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(run_workers(settings, stop))
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)

    return running


@pytest.fixture
def worker_process(tmp_path):
    """Start real worker processes (stopped at the end) for a set-up, with settings overrides."""
    started: list[subprocess.Popen] = []

    def start(setup, **overrides) -> subprocess.Popen:
        environ = {**setup.environ, "POLL_LEASE": "3", "OPENSTACK_TIMEOUT": "2",
                   **{k.upper(): str(v) for k, v in overrides.items()}}
        process = start_logged([sys.executable, "-m", "workers"],
                               tmp_path / f"worker-{len(started)}.log", {**os.environ, **environ})
        started.append(process)
        return process

    yield start
    for process in started:
        stop_process(process, timeout=15)


@pytest.fixture
def receiver(aiohttp_server):
    """Start webhook receivers on 127.0.0.1 for the test."""
    async def start(**behaviour) -> Receiver:
        made = Receiver(**behaviour)
        made.url = str((await aiohttp_server(made.app())).make_url("/hook"))
        return made

    return start
