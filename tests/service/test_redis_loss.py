"""Redis restarts and data loss: the workers rebuild what they need, and no key replay ever makes
a second server. Each test here runs its own redis-server, since it stops or empties it."""
import asyncio
import dataclasses
import json

import pytest
import redis.asyncio as aioredis

from app.openstack.translation import IDEMPOTENCY_TAG
from app.store import redis_layout as layout
from app.store.redis_layout import JobField, PollField
from devtools.localredis import LocalRedis
from tests.service.writing import create_body, finished_job, nova_servers_named, post_server
from tests.support import eventually


@pytest.fixture
async def lossy(service, api_client, own_redis):
    setup = service(servers=1)
    setup = dataclasses.replace(setup, settings=dataclasses.replace(setup.settings,
                                                                    redis_url=own_redis.url))
    return setup, await api_client(setup.settings)


async def until_ready(client) -> None:
    """Wait for /readyz, as a client honouring a 503's Retry-After would (a connection that the
    restart closed fails the one request that finds it)."""
    async def ready():
        return (await client.get("/readyz")).status == 200

    await eventually(ready, timeout=10)


async def polls(client, redis_url, project_id) -> int:
    async with aioredis.Redis.from_url(redis_url) as redis:
        return int(await redis.hget(layout.poll_state(project_id), PollField.CYCLE) or 0)


async def test_after_a_redis_restart_the_workers_run_new_jobs_and_poll_again(
        lossy, own_redis, workers_running, caplog):
    setup, client = lossy
    async with workers_running(setup.settings):
        first = await post_server(client, setup, await create_body(client, setup, name="before"))
        await finished_job(client, setup, (await first.json())["job"]["href"])
        own_redis.restart()  # persistence off: every key is gone, consumer groups too
        await until_ready(client)
        caplog.clear()

        async def polled_again():
            return await polls(client, own_redis.url, setup.project_id) >= 1

        await eventually(polled_again, timeout=20)  # the schedule was rebuilt
        after = await post_server(client, setup, await create_body(client, setup, name="after"))
        job = await finished_job(client, setup, (await after.json())["job"]["href"])

        async def loss_counted():  # the API looks every 5 s
            return "redis_data_losses_total 1.0" in await (await client.get("/metrics")).text()

        await eventually(loss_counted, timeout=10)

    assert after.status == 202 and job["status"] == "succeeded"
    assert len(nova_servers_named(setup.projects[0], "after")) == 1
    tracebacks = [r for r in caplog.records if r.exc_info and r.name.startswith(("workers", "app"))]
    assert tracebacks == [] and not [r for r in caplog.records if "NOGROUP" in r.getMessage()]


async def test_a_keyed_replay_after_redis_lost_everything_adopts_the_first_server(
        lossy, own_redis, workers_running):
    setup, client = lossy
    body = await create_body(client, setup, name="exactly-once")
    async with workers_running(setup.settings):
        first = await (await post_server(client, setup, body, **{"Idempotency-Key": "k-9"})).json()
        await finished_job(client, setup, first["job"]["href"])
        own_redis.restart()
        await until_ready(client)
        replay = await post_server(client, setup, body, **{"Idempotency-Key": "k-9"})
        answer = await replay.json()
        job = await finished_job(client, setup, answer["job"]["href"])
        other_body = await post_server(client, setup, {**body, "name": "other"},
                                       **{"Idempotency-Key": "k-9"})

    assert replay.status == 202 and answer["id"] == first["id"] and job["status"] == "succeeded"
    assert len(nova_servers_named(setup.projects[0], "exactly-once")) == 1
    assert other_body.status == 422  # the key's tag in Nova still knows its request


async def test_once_ready_after_a_redis_restart_no_request_meets_a_stale_connection(
        service, api_client, tmp_path):
    with LocalRedis(data_dir=tmp_path / "aof") as persistent:
        setup = service(servers=1)
        setup = dataclasses.replace(setup, settings=dataclasses.replace(  # no worker: answer at once
            setup.settings, redis_url=persistent.url, create_wait=0.0))
        client = await api_client(setup.settings)
        body = await create_body(client, setup)
        for attempt in range(3):  # every pooled connection was used before the restart
            answers = await asyncio.gather(*[post_server(client, setup, {**body, "name": f"warm-{n}"})
                                             for n in range(4)])
            assert {answer.status for answer in answers} == {202}, [await a.text() for a in answers]
            persistent.restart()
            await eventually(lambda: until_ready_now(client), timeout=15, interval=0.05)

            created = await post_server(client, setup, {**body, "name": f"after-restart-{attempt}"})
            listed = await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())

            assert (created.status, listed.status) == (202, 200), await created.text()


async def until_ready_now(client) -> bool:
    return (await client.get("/readyz")).status == 200


async def test_a_keyed_create_whose_server_appeared_since_its_answer_adopts_it_instead_of_making_another(
        service, api_client, workers_running, redis):
    """The race a failover's lost writes leave: the first request's job and key record are gone,
    its server appears in Nova after the replay was answered (so the replay's own look found
    nothing), and the replay's job looks again just before it creates."""
    setup = service(servers=0)
    project = setup.projects[0]
    client = await api_client(setup.settings)
    body = await create_body(client, setup, name="raced")
    await client.get(f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers())
    first = await (await post_server(client, setup, body, **{"Idempotency-Key": "raced-key"})).json()
    stored = await redis.hget(layout.job(setup.project_id, first["job"]["id"]), JobField.REQUEST)
    tag = json.loads(stored)["idempotency_tag"]
    lost = [layout.job(setup.project_id, first["job"]["id"]), layout.job_queue(setup.project_id),
            *[key async for key in redis.scan_iter(f"cs:{{{setup.project_id}}}:idem:*")]]
    assert await redis.delete(*lost) == 3  # the failover lost the job, its queue entry, the key
    original = project.boot("raced", metadata={IDEMPOTENCY_TAG: tag})  # the first job's server

    replay = await post_server(client, setup, body, **{"Idempotency-Key": "raced-key"})
    async with workers_running(setup.settings):
        job = await finished_job(client, setup, (await replay.json())["job"]["href"], timeout=30)

    assert replay.status == 202 and job["id"] != first["job"]["id"] and job["status"] == "succeeded"
    assert job["server_id"] == original.id
    assert [s.id for s in nova_servers_named(project, "raced")] == [original.id]
