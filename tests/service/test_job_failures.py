"""Jobs against a misbehaving Nova: retries, Retry-After, refusals, ambiguous creates, ERROR builds."""
import pytest

from app.events.stream import EventStream
from app.store import redis_layout as layout
from tests.service.writing import create_body, finished_job, job_of, nova_servers_named, post_server
from tests.support import eventually


@pytest.fixture
async def started(service, api_client):
    setup = service(servers=0, create_wait=0.2)
    client = await api_client(setup.settings)
    body = await create_body(client, setup)  # also snapshots flavors, images, networks, keypairs
    return setup, client, body


async def run_job(setup, client, body, workers_running, **faults):
    emulator = setup.projects[0].emulator
    if faults:
        emulator.set_faults(setup.project_id, **faults)
    answer = await (await post_server(client, setup, body)).json()
    async with workers_running(setup.settings):
        job = await finished_job(client, setup, answer["job"]["href"], timeout=30)
    return job


@pytest.mark.parametrize("throttle_status", [429, 413])
async def test_throttling_is_retried_after_retry_after(started, workers_running, throttle_status):
    setup, client, body = started
    emulator = setup.projects[0].emulator
    after = emulator.last_request_seq()

    job = await run_job(setup, client, body, workers_running, throttle_count=1, retry_after=1,
                        throttle_status=throttle_status)

    posts = [r for r in emulator.requests(project_id=setup.project_id, after=after)
             if r["method"] == "POST" and r["path"] == "/compute/v2.1/servers"]
    statuses = [p["status"] for p in posts]
    assert job["status"] == "succeeded" and job["attempts"] == len(posts)
    if statuses == [throttle_status, 202]:  # the throttled call was the create (not a poll)
        assert posts[1]["started"] - posts[0]["at"] >= 0.9  # Retry-After: 1, less jitter-free slack
    assert statuses[-1] == 202 and len(nova_servers_named(setup.projects[0], "web-01")) == 1


async def test_server_errors_are_retried_until_nova_recovers(started, workers_running):
    setup, client, body = started
    emulator = setup.projects[0].emulator
    emulator.set_faults(setup.project_id, error_rate=1.0)
    answer = await (await post_server(client, setup, body)).json()
    async with workers_running(setup.settings):
        async def failed_once():
            job = await job_of(client, setup, answer["job"]["href"])
            return job["attempts"] >= 2 and "HTTP 500" in (job["error"] or "")

        await eventually(failed_once)
        emulator.clear_faults(setup.project_id)
        job = await finished_job(client, setup, answer["job"]["href"])

    assert job["status"] == "succeeded" and job["error"] is None
    assert len(nova_servers_named(setup.projects[0], "web-01")) == 1


async def test_attempts_are_bounded(service, api_client, workers_running):
    setup = service(servers=0, create_wait=0.2, job_max_attempts=2)
    client = await api_client(setup.settings)
    body = await create_body(client, setup)

    job = await run_job(setup, client, body, workers_running, error_rate=1.0)

    assert (job["status"], job["attempts"]) == ("failed", 2)
    assert job["error"].startswith("Gave up after 2 attempts") and "HTTP 500" in job["error"]


async def test_quota_refusal_fails_the_job_with_novas_message(service, api_client, workers_running, redis):
    setup = service(servers=2, create_wait=0.2)
    setup.projects[0].emulator.update_project(setup.project_id, quota_instances=2)
    client = await api_client(setup.settings)
    body = await create_body(client, setup)

    job = await run_job(setup, client, body, workers_running)

    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert "Quota exceeded for instances" in job["error"]
    events = await EventStream(redis).read(setup.project_id)
    assert [e["type"] for e in events] == ["job.failed"]
    assert events[0]["data"]["job"]["error"] == job["error"]


@pytest.mark.parametrize("mode", ["503", "drop"])
async def test_a_create_carried_out_but_answered_with_a_failure_ends_with_one_server(
        started, workers_running, mode):
    setup, client, body = started

    job = await run_job(setup, client, body, workers_running, ambiguous_creates=1, ambiguous_mode=mode)

    [server] = nova_servers_named(setup.projects[0], "web-01")
    assert (job["status"], job["attempts"], job["server_id"]) == ("succeeded", 2, server.id)


async def test_an_error_build_fails_the_job_and_says_the_server_is_left(service, api_client,
                                                                       workers_running):
    setup = service(servers=0, create_wait=0.2)
    setup.projects[0].emulator.update_project(setup.project_id, build_error_rate=1.0)
    client = await api_client(setup.settings)
    body = await create_body(client, setup)

    job = await run_job(setup, client, body, workers_running)

    assert job["status"] == "failed" and job["server_id"]
    assert "ended in ERROR: No valid host was found" in job["error"]
    assert "left in place" in job["error"]
    shown = await client.get(f"/cloud/servers/{job['server_id']}?project_id={setup.project_id}",
                             headers=setup.headers())
    assert (await shown.json())["status"] == "ERROR"


async def test_job_records_expire_after_the_retention(service, api_client, workers_running, redis):
    setup = service(servers=0, create_wait=0.2, job_retention=90000)
    client = await api_client(setup.settings)
    body = await create_body(client, setup)

    job = await run_job(setup, client, body, workers_running)

    assert 89900 < await redis.ttl(layout.job(setup.project_id, job["id"])) <= 90000


async def test_another_projects_job_is_404(service, api_client):
    setup = service(projects=2, servers=0, create_wait=0.1)
    client = await api_client(setup.settings)
    answer = await (await post_server(client, setup, await create_body(client, setup))).json()
    other = setup.projects[1].id

    mine = await client.get(answer["job"]["href"], headers=setup.headers())
    theirs = await client.get(f"/cloud/jobs/{answer['job']['id']}?project_id={other}",
                              headers=setup.headers())

    assert mine.status == 200 and theirs.status == 404
