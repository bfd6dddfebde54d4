"""``attach_volume`` and ``detach_volume`` as server actions (jobs) through Nova's
os-volume_attachments, with Cinder and Nova agreeing at the end, and their refusals."""
from app.events.stream import EventStream
from tests.service.writing import finished_job


def path(setup, server_id: str, suffix: str = "") -> str:
    return f"/cloud/servers/{server_id}{suffix}?project_id={setup.project_id}"


async def made_volume(client, setup, name: str = "data") -> str:
    made = await client.post("/cloud/volumes", headers=setup.headers(),
                             json={"project_id": setup.project_id, "name": name, "size_gb": 1})
    return (await finished_job(client, setup, made.headers["Location"]))["result"]["volume_id"]


async def volume_action(client, setup, server_id: str, action: str, volume_id: str):
    return await client.post(path(setup, server_id, "/actions"), headers=setup.headers(),
                             json={"action": action, "volume_id": volume_id})


async def listed_volume(client, setup, volume_id: str) -> dict:
    volumes = await (await client.get(f"/cloud/volumes?project_id={setup.project_id}",
                                      headers=setup.headers())).json()
    return next(v for v in volumes if v["id"] == volume_id)


async def test_a_volume_attaches_and_detaches_and_cinder_nova_and_the_lists_agree(
        service, api_client, workers_running, redis):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    server_id = (await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                         headers=setup.headers())).json())[0]["id"]
    async with workers_running(setup.settings):
        volume_id = await made_volume(client, setup)
        attach = await volume_action(client, setup, server_id, "attach_volume", volume_id)
        shown_at_once = await (await client.get(path(setup, server_id), headers=setup.headers())).json()
        attached_job = await finished_job(client, setup, attach.headers["Location"])
        attached = (await listed_volume(client, setup, volume_id),
                    await (await client.get(path(setup, server_id), headers=setup.headers())).json())
        detach = await volume_action(client, setup, server_id, "detach_volume", volume_id)
        detached_job = await finished_job(client, setup, detach.headers["Location"])
    volume = await listed_volume(client, setup, volume_id)
    server = await (await client.get(path(setup, server_id), headers=setup.headers())).json()
    events = await EventStream(redis).after(setup.project_id, "0-0", 200)

    assert attach.status == 202 and shown_at_once["task_state"] == "attaching_volume"
    assert attached_job["status"] == "succeeded", attached_job["error"]
    assert (attached[0]["status"], attached[0]["attachments"]) == ("in-use", [server_id])
    assert [v["id"] for v in attached[1]["volumes_attached"]] == [volume_id]
    assert detached_job["status"] == "succeeded", detached_job["error"]
    assert (volume["status"], volume["attachments"], server["volumes_attached"]) == ("available", [], [])
    changes = [e.data["to"] for e in events if e.type == "volume.status_changed" and e.server_id == volume_id]
    assert "in-use" in changes[:-1] and changes[-1] == "available"  # polls may see detaching too
    assert any(e.type == "server.updated" and "volumes_attached" in e.data["changed"] for e in events)
    cinder = setup.projects[0].conn.block_storage.get_volume(volume_id)
    assert cinder.status == "available" and cinder.attachments == []


async def test_attach_and_detach_refuse_what_the_volume_state_does_not_allow(
        service, api_client, workers_running):
    setup = service(servers=2)
    client = await api_client(setup.settings)
    first, second = [s["id"] for s in await (await client.get(
        f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers())).json()]
    async with workers_running(setup.settings):
        volume_id = await made_volume(client, setup)
        attach = await volume_action(client, setup, first, "attach_volume", volume_id)
        await finished_job(client, setup, attach.headers["Location"])
        twice = await volume_action(client, setup, second, "attach_volume", volume_id)
        elsewhere = await volume_action(client, setup, second, "detach_volume", volume_id)
    no_such = "7d7f0ad1-2c43-4a4e-9d6c-1a2b3c4d5e6f"
    unknown = await volume_action(client, setup, first, "attach_volume", no_such)
    missing = await client.post(path(setup, first, "/actions"), headers=setup.headers(),
                                json={"action": "attach_volume"})

    assert twice.status == 409 and "one server at a time" in (await twice.json())["detail"]
    assert elsewhere.status == 409 and "not attached to server" in (await elsewhere.json())["detail"]
    assert unknown.status == 422 and list((await unknown.json())["errors"]) == ["volume_id"]
    assert missing.status == 422
    assert (await missing.json())["errors"] == {"volume_id": ["Required by this action."]}
