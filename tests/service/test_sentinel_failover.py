"""Redis behind Sentinel, with real processes (a master, a replica and three sentinels): the
service finds the master through the sentinels, a failover right after six keyed creates loses
none of them and makes no second server, and a write that an answer promises waits for the
replica (``WAIT 1``): a replica that does not acknowledge makes it a 503, no replica at all makes
it counted."""
import dataclasses
import os
import signal
import time

import pytest
import redis.asyncio as aioredis

from devtools.redis_sentinel import SentinelGroup
from tests.service.writing import create_body, finished_job, job_of, nova_servers_named, post_server
from tests.support import eventually


@pytest.fixture
def sentinels():
    with SentinelGroup() as group:
        yield group


def on_sentinels(setup, group: SentinelGroup, **settings):
    """The set-up with its Redis behind the group's sentinels."""
    return dataclasses.replace(setup, settings=dataclasses.replace(setup.settings, redis_url=group.url,
                                                                   **settings),
                               environ={**setup.environ, "REDIS_URL": group.url})


async def ready(client) -> bool:
    return (await client.get("/readyz")).status == 200


async def test_a_failover_right_after_six_keyed_creates_keeps_every_job_and_makes_six_servers(
        service, api_client, workers_running, sentinels):
    setup = on_sentinels(service(servers=0), sentinels)
    project = setup.projects[0]
    client = await api_client(setup.settings)
    body = await create_body(client, setup)
    async with workers_running(setup.settings):
        answers = [await post_server(client, setup, {**body, "name": f"failover-{n}"},
                                     **{"Idempotency-Key": f"failover-{n}"}) for n in range(6)]
        assert [answer.status for answer in answers] == [202] * 6
        jobs = [(await answer.json())["job"] for answer in answers]
        killed_at = time.monotonic()
        sentinels.kill_master()

        await eventually(lambda: ready(client), timeout=15, interval=0.1)
        ready_after = time.monotonic() - killed_at
        sentinels.wait_for_failover(timeout=5)  # the sentinels agree: the replica is the master
        replays = [await post_server(client, setup, {**body, "name": f"failover-{n}"},
                                     **{"Idempotency-Key": f"failover-{n}"}) for n in range(6)]
        finished = [await finished_job(client, setup, job["href"], timeout=60) for job in jobs]

        async def listed() -> bool:  # the snapshot's changes reach the API from the new master
            answer = await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())
            return {s["name"] for s in await answer.json()} >= {f"failover-{n}" for n in range(6)}

        await eventually(listed, timeout=20)

    assert ready_after < 15
    assert [replay.status for replay in replays] == [202] * 6  # answered, not a 503 from a stale connection
    assert [(await replay.json())["job"]["id"] for replay in replays] == [job["id"] for job in jobs]
    assert [job["status"] for job in finished] == ["succeeded"] * 6
    assert [len(nova_servers_named(project, f"failover-{n}")) for n in range(6)] == [1] * 6


async def test_a_write_no_replica_acknowledges_is_a_503_and_the_key_replays_it_once_it_does(
        service, api_client, sentinels):
    setup = on_sentinels(service(servers=0), sentinels, redis_replica_wait_ms=300)
    client = await api_client(setup.settings)
    body = await create_body(client, setup, name="unacknowledged")
    os.kill(sentinels.replica.pid, signal.SIGSTOP)  # connected, but acknowledges nothing
    try:
        refused = await post_server(client, setup, body, **{"Idempotency-Key": "unacknowledged"})
        problem = await refused.json()
    finally:
        os.kill(sentinels.replica.pid, signal.SIGCONT)

    assert refused.status == 503 and refused.headers["Retry-After"] == "1"
    assert problem["type"] == "/problems/not-replicated" and "Idempotency-Key" in problem["detail"]
    retried = await post_server(client, setup, body, **{"Idempotency-Key": "unacknowledged"})
    again = await post_server(client, setup, body, **{"Idempotency-Key": "unacknowledged"})
    assert retried.status == 202
    assert (await again.json())["job"]["id"] == (await retried.json())["job"]["id"]


async def test_with_no_replica_writes_go_on_and_are_counted(service, api_client, redis_server):
    setup = service(servers=0)  # the session's single Redis: no replica
    client = await api_client(setup.settings)
    body = await create_body(client, setup, name="unreplicated")

    created = await post_server(client, setup, body)
    metrics = await (await client.get("/metrics")).text()

    assert created.status == 202
    assert "cloud_servers_redis_unreplicated_writes_total 1.0" in metrics
    async with aioredis.Redis.from_url(redis_server.url) as direct:
        job = await job_of(client, setup, (await created.json())["job"]["href"])
        assert await direct.exists(f"cs:{{{setup.project_id}}}:job:{job['id']}")
