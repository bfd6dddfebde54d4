"""The Redis layout says what the service really writes: every key, type, field and TTL."""
import dataclasses
import json
import re
import time

from app.process.composition import open_services
from app.process.heartbeats import Heartbeats
from app.snapshot.schedule import Holding, PollSchedule
from app.store import redis_layout as layout
from app.store.redis_layout import LAYOUT, Key
from devtools.emulator_client import CLOUD_READER, add_cloud_reader
from tests.service.webhook_helpers import subscribe
from tests.service.writing import create_body, finished_job, post_server
from tests.support import eventually


def _regex(spec: Key) -> re.Pattern[str]:
    pattern = re.escape(spec.pattern).replace(r"\{p\}", r"\{[0-9a-f]{32}\}")
    return re.compile("^" + re.sub(r"<[a-z0-9]+>", "[^:]+", pattern) + "$")


async def fields_of(redis, key: str, kind: str) -> set[str]:
    if kind == "hash":
        return {name.decode() for name in await redis.hkeys(key)}
    if kind == "stream":
        return {name.decode() for _, entry in await redis.xrange(key) for name in entry}
    if kind == "string":
        value = json.loads(await redis.get(key)) if (await redis.get(key)).startswith(b"{") else None
        return set(value) if isinstance(value, dict) else set()
    return set()


async def check_keys(redis) -> set[str]:
    """Hold every key in Redis against the layout; the patterns seen."""
    seen = set()
    async for raw in redis.scan_iter(count=1000):
        key = raw.decode()
        matching = [spec for spec in LAYOUT if _regex(spec).match(key)]
        assert len(matching) == 1, f"{key} matches {len(matching)} rows of the layout"
        spec = matching[0]
        async with redis.pipeline(transaction=True) as pipe:  # one moment: a key may expire
            kind, ttl = await pipe.type(key).pttl(key).execute()
        if kind == b"none":  # expired since the scan (a rate-limit bucket lives a second)
            continue
        assert kind.decode() == spec.redis_type, key
        if spec.field_names is not None:
            assert await fields_of(redis, key, spec.redis_type) <= set(spec.field_names), key
        assert (ttl > 0) == spec.expires, key
        seen.add(spec.pattern)
    return seen


async def test_what_a_create_a_delete_and_the_polls_write_matches_the_layout(
        listed_service, workers_running, redis, receiver):
    setup, client, listed = listed_service
    seen = set()
    body = await create_body(client, setup, name="layout")
    failing = await receiver(answers=[500] * 10)  # its deliveries stay queued for a retry
    webhook = await (await subscribe(client, setup, failing.url)).json()
    async with workers_running(setup.settings):
        created = await post_server(client, setup, body, **{"Idempotency-Key": "layout-1"})
        await finished_job(client, setup, (await created.json())["job"]["href"])
        await eventually(lambda: redis.exists(layout.webhook_attempts(setup.project_id, webhook["id"])))
    deleted = await client.delete(f"/cloud/servers/{listed[0]['id']}?project_id={setup.project_id}",
                                  headers=setup.headers())
    stopped = await client.post(f"/cloud/servers/{listed[1]['id']}/actions?project_id="
                                f"{setup.project_id}", json={"action": "stop"}, headers=setup.headers())
    seen |= await check_keys(redis)  # the delete and the action are queued, their marks set
    add_cloud_reader(setup.settings.clouds_file, setup.projects[0].emulator)
    cloud_wide = dataclasses.replace(setup.settings, cloud_reader=CLOUD_READER)
    async with workers_running(cloud_wide):
        async def deletion_confirmed():
            return not await redis.exists(layout.deleting(setup.project_id, listed[0]["id"]))

        await eventually(deletion_confirmed)
        await eventually(lambda: redis.exists(layout.cloud_poll("RegionOne")))  # a cloud-wide poll
    await PollSchedule(redis).claim(time.time() + 3600, lease=60, limit=1,  # a poll's lease and
                                    holding=Holding("a-running-worker", hold=60, grace=30))  # bucket
    await Heartbeats(redis).beat("a-running-worker")  # stopped workers leave no heartbeat
    async with open_services(cloud_wide) as services:  # stopped workers let go of their regions
        await services.cloud_poll.hold("RegionOne", "a-running-worker", lease=60)

    seen |= await check_keys(redis)

    assert created.status == 202 and deleted.status == 204 and stopped.status == 202
    assert seen == {spec.pattern for spec in LAYOUT}
