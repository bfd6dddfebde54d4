"""Jobs survive their workers: SIGKILL mid-create, SIGTERM hand-back, a Redis error mid-job;
fairness across projects."""
import asyncio
import dataclasses
import signal
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from app.jobs.job import Job
from app.process.composition import open_services
from app.process.metrics_registry import new_registry
from app.process.settings import Settings
from tests.service.writing import create_body, finished_job, job_of, nova_servers_named, post_server
from tests.support import ServiceSetup, eventually, service_environ, write_service_files
from workers.job_runner import JobRunner
from workers.metrics import WorkerMetrics


@pytest.fixture
def slow_builds(start_emulator):
    """An emulator whose builds take 300 s of emulated time, finished by moving its clock."""
    return start_emulator("--build-delay", "300", "--delete-delay", "1")


async def building_job(client, setup, href):
    async def running_with_server():
        job = await job_of(client, setup, href)
        return job if job["status"] == "running" and job["server_id"] else None

    return await eventually(running_with_server, timeout=20)


class RedisFailsOnce:
    """A job executor whose first run meets a connection that a Redis restart closed."""

    def __init__(self, executor) -> None:
        self._executor = executor
        self.runs = 0

    async def run(self, job: Job) -> Job:
        self.runs += 1
        if self.runs == 1:
            raise RedisConnectionError("Connection closed by server.")
        return await self._executor.run(job)


async def test_a_job_that_redis_stopped_runs_again_without_waiting_for_its_visibility_timeout(
        service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    answer = await (await post_server(client, setup, await create_body(client, setup))).json()
    stop, settings = asyncio.Event(), dataclasses.replace(setup.settings, job_visibility_timeout=60)
    async with open_services(settings) as services:
        executor = RedisFailsOnce(services.executor)
        runner = JobRunner(settings, services.directory, services.queue, services.jobs,
                           executor, WorkerMetrics(new_registry()))
        running = asyncio.create_task(runner.run(stop))
        try:  # without a hand-back, no worker would take it again for 60 s
            job = await finished_job(client, setup, answer["job"]["href"], timeout=20)
        finally:
            stop.set()
            await running

    assert job["status"] == "succeeded" and executor.runs == 2
    assert len(nova_servers_named(setup.projects[0], "web-01")) == 1


async def test_a_worker_killed_mid_create_is_replaced_and_one_server_results(
        service, api_client, project_factory, slow_builds, worker_process, tmp_path):
    setup = _with_project(service, project_factory(client=slow_builds), tmp_path)
    client = await api_client(setup.settings)
    body = await create_body(client, setup, name="durable")
    first = worker_process(setup, job_visibility_timeout=3)

    answer = await (await post_server(client, setup, body)).json()
    await building_job(client, setup, answer["job"]["href"])  # Nova accepted; job not done
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    worker_process(setup, job_visibility_timeout=3)
    slow_builds.advance_clock(301)
    job = await finished_job(client, setup, answer["job"]["href"], timeout=30)

    [server] = nova_servers_named(setup.projects[0], "durable")
    assert (job["status"], job["server_id"]) == ("succeeded", server.id)
    assert job["attempts"] == 2


async def test_sigterm_hands_a_running_job_back_at_once(
        service, api_client, project_factory, slow_builds, worker_process, tmp_path):
    setup = _with_project(service, project_factory(client=slow_builds), tmp_path)
    client = await api_client(setup.settings)
    body = await create_body(client, setup, name="handed-back")
    first = worker_process(setup, job_visibility_timeout=3, shutdown_timeout=0.5)

    answer = await (await post_server(client, setup, body)).json()
    await building_job(client, setup, answer["job"]["href"])
    first.send_signal(signal.SIGTERM)
    assert first.wait(15) == 0
    stopped_at = time.monotonic()
    worker_process(setup, job_visibility_timeout=120)  # without the hand-back: 2 minutes
    job = await eventually(lambda: _attempted_twice(client, setup, answer["job"]["href"]), timeout=30)
    taken_over_after = time.monotonic() - stopped_at
    slow_builds.advance_clock(301)
    job = await finished_job(client, setup, answer["job"]["href"], timeout=30)

    assert taken_over_after < 60 and job["status"] == "succeeded"
    assert len(nova_servers_named(setup.projects[0], "handed-back")) == 1


async def _attempted_twice(client, setup, href):
    job = await job_of(client, setup, href)
    return job if job["attempts"] >= 2 else None


def _with_project(service, project, tmp_path, **overrides):
    """A service set-up for a project made in another emulator."""
    base = service(projects=0)
    directory = tmp_path / "elsewhere"
    directory.mkdir(exist_ok=True)
    clouds_file, tokens_file, tokens = write_service_files(directory, [project])
    environ = service_environ(base.settings.redis_url, clouds_file, tokens_file,
                              **{"build_poll_interval": 0.2, "create_wait": 5, **overrides})
    return ServiceSetup(Settings.from_env(environ), environ, [project], tokens)


async def test_a_busy_project_does_not_starve_another(service, api_client, workers_running):
    setup = service(projects=2, servers=0, job_concurrency=1, create_wait=0)
    client = await api_client(setup.settings)
    busy = [await create_body(client, setup, project_index=0, name=f"busy-{n}") for n in range(5)]
    quiet = await create_body(client, setup, project_index=1, name="quiet")
    busy_jobs = [(await (await post_server(client, setup, b)).json())["job"]["href"] for b in busy]
    quiet_job = (await (await post_server(client, setup, quiet)).json())["job"]["href"]

    async with workers_running(setup.settings):
        await finished_job(client, setup, quiet_job, timeout=30)
        busy_done = [(await job_of(client, setup, href))["status"] for href in busy_jobs]

    assert busy_done.count("succeeded") <= 2, busy_done
