"""Volumes changed behind the service's back reach the volumes list and the event stream within
a poll: changed ones through Cinder's ``updated_at`` filter (volume API 3.60), deleted ones at a
full resync."""
from app.events.stream import EventStream
from tests.support import eventually


async def listed(client, setup) -> dict[str, dict]:
    answer = await client.get(f"/cloud/volumes?project_id={setup.project_id}", headers=setup.headers())
    return {v["id"]: v for v in await answer.json()}


async def test_a_volume_made_or_deleted_elsewhere_is_polled_into_the_list_with_its_events(
        service, api_client, workers_running, redis):
    setup = service(servers=0, full_resync_every=3)  # resources are listed again only in an hour
    project = setup.projects[0]
    client = await api_client(setup.settings)
    await listed(client, setup)
    async with workers_running(setup.settings):
        made = project.conn.block_storage.create_volume(name="elsewhere", size=1)
        project.emulator.advance_clock(2)  # available

        async def polled_available():
            return (await listed(client, setup)).get(made.id, {}).get("status") == "available"

        await eventually(polled_available, timeout=15)
        project.conn.block_storage.delete_volume(made.id)
        project.emulator.advance_clock(2)  # gone

        async def polled_gone():
            return made.id not in await listed(client, setup)

        await eventually(polled_gone, timeout=20)
    events = await EventStream(redis).after(setup.project_id, "0-0", 100)

    assert [e.type for e in events if e.server_id == made.id][0] == "volume.created"
    assert [e.type for e in events if e.server_id == made.id][-1] == "volume.deleted"
