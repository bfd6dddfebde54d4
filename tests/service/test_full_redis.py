"""A full Redis (``maxmemory`` under ``noeviction``): writes are 503 problems and leave nothing
half-written, reads go on, and the service recovers once memory frees."""
import dataclasses

import redis.asyncio as aioredis

from app.store import redis_layout as layout
from devtools.redis_pressure import fill_to_maxmemory
from tests.service.writing import create_body, post_server


async def test_a_full_redis_refuses_writes_whole_answers_reads_and_recovers(service, api_client,
                                                                           own_redis):
    setup = service(servers=2)
    setup = dataclasses.replace(setup, settings=dataclasses.replace(
        setup.settings, redis_url=own_redis.url, snapshot_max_age=0.5))
    client = await api_client(setup.settings)
    body = await create_body(client, setup, name="when-full")
    servers = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())).json()
    target = servers[0]["id"]
    async with aioredis.Redis.from_url(own_redis.url) as redis:
        fillers = await fill_to_maxmemory(redis)
        keys_before = set(await redis.keys("cs:*"))

        create = await post_server(client, setup, body)
        delete = await client.delete(f"/cloud/servers/{target}?project_id={setup.project_id}",
                                     headers=setup.headers())
        listing = await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                   headers=setup.headers())
        show = await client.get(f"/cloud/servers/{target}?project_id={setup.project_id}",
                                headers=setup.headers())
        problem = await create.json(content_type="application/problem+json")
        keys_after = set(await redis.keys("cs:*"))
        await redis.delete(*(f"filler:{n}" for n in range(fillers)))
        recovered = await post_server(client, setup, body)

    assert (create.status, delete.status) == (503, 503) and problem["type"] == "/problems/store-full"
    assert listing.status == 200 and {s["id"] for s in await listing.json()} == {s["id"] for s in servers}
    assert all(s["task_state"] is None for s in await listing.json())  # no 'deleting' left behind
    assert show.status == 200
    # Nothing half-written: no job, mark, key or queue entry. (The live read's rate-limit bucket
    # may be written: a tiny key that fits once memory dips under the limit, as it can.)
    assert {k for k in keys_after if b":{rate:" not in k} == keys_before
    assert layout.deleting(setup.project_id, target).encode() not in keys_after
    assert recovered.status == 202
