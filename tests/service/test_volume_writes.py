"""``POST /cloud/volumes`` and ``DELETE /cloud/volumes/{id}`` as durable jobs against the
emulator's Cinder through openstacksdk: checks before queueing, the list at once, events, keys."""
from app.events.stream import EventStream
from app.openstack.translation import IDEMPOTENCY_TAG, JOB_TAG
from tests.service.writing import create_body, finished_job, post_server


def volumes_path(setup, volume_id: str = "") -> str:
    return f"/cloud/volumes{'/' + volume_id if volume_id else ''}?project_id={setup.project_id}"


async def listed(client, setup) -> dict[str, dict]:
    return {v["id"]: v for v in await (await client.get(volumes_path(setup), headers=setup.headers())).json()}


async def post_volume(client, setup, **body):
    key = body.pop("key", None)
    headers = setup.headers(**({"Idempotency-Key": key} if key else {}))
    return await client.post("/cloud/volumes", headers=headers,
                             json={"project_id": setup.project_id, "name": "data", "size_gb": 2, **body})


async def test_a_volume_is_made_listed_at_once_announced_and_a_keyed_replay_makes_no_second(
        service, api_client, workers_running, redis):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    await listed(client, setup)  # listed once: refreshed again only in an hour
    async with workers_running(setup.settings):
        created = await post_volume(client, setup, volume_type="ssd", description="scratch", key="vol-1")
        answer = await created.json()
        at_once = await listed(client, setup)
        job = await finished_job(client, setup, created.headers["Location"], timeout=30)
        again = await post_volume(client, setup, volume_type="ssd", description="scratch", key="vol-1")
    after = await listed(client, setup)
    in_cinder = [v for v in setup.projects[0].conn.block_storage.volumes() if v.name == "data"]
    events = await EventStream(redis).after(setup.project_id, "0-0", 100)

    assert created.status == 202 and answer["status"] == "creating" and answer["id"]
    assert at_once[answer["id"]]["status"] in ("creating", "available")
    assert job["status"] == "succeeded" and job["kind"] == "create_volume"
    assert job["result"] == {"volume_id": answer["id"]}
    assert after[answer["id"]]["status"] == "available" and after[answer["id"]]["volume_type"] == "ssd"
    assert again.headers["Idempotent-Replayed"] == "true" and (await again.json())["id"] == answer["id"]
    assert [v.id for v in in_cinder] == [answer["id"]]
    assert in_cinder[0].metadata[JOB_TAG] == job["id"] and IDEMPOTENCY_TAG in in_cinder[0].metadata
    assert [(e.type, e.data["volume"]["status"]) for e in events if e.server_id == answer["id"]] == [
        ("volume.created", "creating"), ("volume.status_changed", "available")]


async def test_a_volume_that_cannot_be_made_is_a_422_naming_the_field_and_nothing_is_queued(
        service, api_client, redis):
    setup = service(servers=0)
    setup.projects[0].emulator.update_project(setup.project_id, quota_volume_gb=5)
    client = await api_client(setup.settings)

    no_type = await post_volume(client, setup, volume_type="nvme")
    no_image = await post_volume(client, setup, image_id="7d7f0ad1-2c43-4a4e-9d6c-1a2b3c4d5e6f")
    too_big = await post_volume(client, setup, size_gb=6)
    empty = await post_volume(client, setup, size_gb=0)

    assert [a.status for a in (no_type, no_image, too_big, empty)] == [422] * 4
    assert list((await no_type.json())["errors"]) == ["volume_type"]
    assert list((await no_image.json())["errors"]) == ["image_id"]
    assert (await too_big.json())["errors"] == {"size_gb": [
        "The project may have 5 GiB of volumes and has 0 GiB; 6 GiB more do not fit."]}
    assert list((await empty.json())["errors"]) == ["size_gb"]
    assert await redis.xlen(f"cs:{{{setup.project_id}}}:jobs") == 0


async def test_a_delete_shows_deleting_at_once_the_volume_leaves_the_list_and_an_attached_one_is_409(
        service, api_client, workers_running, redis):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    async with workers_running(setup.settings):
        made = await post_volume(client, setup)
        volume_id = (await finished_job(client, setup, made.headers["Location"]))["result"]["volume_id"]
        body = await create_body(client, setup, boot_volume={"size_gb": 1})
        booted = await post_server(client, setup, body)
        server_job = await finished_job(client, setup, (await booted.json())["job"]["href"], timeout=30)
        deleted = await client.delete(volumes_path(setup, volume_id), headers=setup.headers())
        deleting = (await listed(client, setup))[volume_id]["status"]
        job = await finished_job(client, setup, deleted.headers["Link"].split(";")[0].strip("<>"), timeout=30)
        attached = next(v for v in (await listed(client, setup)).values() if v["attachments"])
        refused = await client.delete(volumes_path(setup, attached["id"]), headers=setup.headers())
    gone = await client.delete(volumes_path(setup, volume_id), headers=setup.headers())
    events = await EventStream(redis).after(setup.project_id, "0-0", 200)

    assert deleted.status == 204 and deleting == "deleting"
    assert job["status"] == "succeeded" and job["kind"] == "delete_volume"
    assert volume_id not in await listed(client, setup)
    assert server_job["status"] == "succeeded"
    assert refused.status == 409 and "detach it first" in (await refused.json())["detail"]
    assert gone.status == 404
    assert [e.type for e in events if e.server_id == volume_id][-1] == "volume.deleted"
