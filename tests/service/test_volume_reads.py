"""Volumes as the service shows them: the list's fields, a live show written through to the
list, and a create's boot volume listed at once (no wait for the resources refresh)."""
from tests.service.writing import create_body, finished_job, post_server


def volumes_path(setup, volume_id: str = "") -> str:
    return f"/cloud/volumes{'/' + volume_id if volume_id else ''}?project_id={setup.project_id}"


async def listed_volumes(client, setup) -> dict[str, dict]:
    return {v["id"]: v for v in await (await client.get(volumes_path(setup), headers=setup.headers())).json()}


async def test_a_volume_shown_live_is_written_through_and_one_gone_leaves_the_list(service, api_client):
    setup = service(servers=0)
    project = setup.projects[0]
    client = await api_client(setup.settings)
    before = await listed_volumes(client, setup)  # listed once: refreshed again only in an hour
    made = project.conn.block_storage.create_volume(name="data", size=3, volume_type="ssd")
    project.emulator.advance_clock(5)

    shown = await client.get(volumes_path(setup, made.id), headers=setup.headers())
    volume = await shown.json()
    listed = await listed_volumes(client, setup)
    project.conn.block_storage.delete_volume(made.id)
    project.emulator.advance_clock(5)
    gone = await client.get(volumes_path(setup, made.id), headers=setup.headers())
    after = await listed_volumes(client, setup)
    not_a_uuid = await client.get(volumes_path(setup, "data"), headers=setup.headers())

    assert made.id not in before
    assert shown.status == 200
    assert (volume["name"], volume["size"], volume["status"]) == ("data", 3, "available")
    assert (volume["volume_type"], volume["attachments"], volume["bootable"]) == ("ssd", [], False)
    assert listed[made.id] == volume
    assert gone.status == 404 and made.id not in after
    assert not_a_uuid.status == 404


async def test_a_boot_volume_is_listed_as_soon_as_its_server_is_made(service, api_client, workers_running):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    before = await listed_volumes(client, setup)  # listed once: refreshed again only in an hour
    async with workers_running(setup.settings):
        body = await create_body(client, setup, boot_volume={"size_gb": 2})
        created = await post_server(client, setup, body)
        job = await finished_job(client, setup, (await created.json())["job"]["href"])
    after = await listed_volumes(client, setup)
    new = [v for volume_id, v in after.items() if volume_id not in before]

    assert job["status"] == "succeeded"
    assert [(v["size"], v["status"], v["attachments"], v["bootable"]) for v in new] == [
        (2, "in-use", [job["server_id"]], True)]


async def test_a_deleted_servers_boot_volume_leaves_the_list_or_is_shown_available_again(
        service, api_client, workers_running):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    before = await listed_volumes(client, setup)
    async with workers_running(setup.settings):
        made = []
        for keep in (False, True):
            boot_volume = {"size_gb": 1, "delete_on_termination": not keep}
            body = await create_body(client, setup, boot_volume=boot_volume)
            created = await post_server(client, setup, body)
            made.append(await finished_job(client, setup, (await created.json())["job"]["href"]))
        volumes = {v_id: v["attachments"][0] for v_id, v in (await listed_volumes(client, setup)).items()
                   if v_id not in before}
        for job in made:
            deleted = await client.delete(f"/cloud/servers/{job['server_id']}?project_id={setup.project_id}",
                                          headers=setup.headers())
            await finished_job(client, setup, deleted.headers["Link"].split(";")[0].strip("<>"))
    after = await listed_volumes(client, setup)
    by_server = {server_id: volume_id for volume_id, server_id in volumes.items()}

    assert by_server[made[0]["server_id"]] not in after  # deleted with its server
    kept = after[by_server[made[1]["server_id"]]]
    assert (kept["status"], kept["attachments"]) == ("available", [])
