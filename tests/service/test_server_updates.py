"""``PATCH /cloud/servers/{id}`` (rename, metadata), the console log and remote consoles: Nova
does them at once, the answers and the list show the result, and a console URL is never kept."""
import logging

import yaml

from app.access.tokens import digest_of
from app.events.stream import EventStream
from app.openstack.translation import JOB_TAG
from tests.support import eventually


def server_path(setup, server_id: str, suffix: str = "") -> str:
    return f"/cloud/servers/{server_id}{suffix}?project_id={setup.project_id}"


async def listed_server(client, setup, server_id: str) -> dict:
    listed = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())).json()
    return next(s for s in listed if s["id"] == server_id)


async def test_a_rename_answers_the_server_shows_in_the_list_at_once_and_is_a_server_updated_event(
        service, api_client, redis):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    server_id = (await listed_server_any(client, setup))["id"]

    answer = await client.patch(server_path(setup, server_id), json={"name": "renamed"},
                                headers=setup.headers())
    body = await answer.json()

    assert answer.status == 200 and body["name"] == "renamed" and body["id"] == server_id
    assert (await listed_server(client, setup, server_id))["name"] == "renamed"
    assert setup.projects[0].conn.compute.get_server(server_id).name == "renamed"
    events = await EventStream(redis).after(setup.project_id, "0-0", 100)
    updated = [e for e in events if e.type == "server.updated" and e.server_id == server_id]
    assert [e.data["changed"] for e in updated] == [["name"]]
    assert updated[0].data["server"]["name"] == "renamed"


async def listed_server_any(client, setup) -> dict:
    listed = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())).json()
    return listed[0]


async def test_metadata_is_replaced_and_the_services_own_keys_stay_in_nova(service, api_client):
    setup = service(servers=0)
    project = setup.projects[0]
    booted = project.boot("tagged", metadata={JOB_TAG: "a-job", "old": "1"})
    project.emulator.advance_clock(5)
    client = await api_client(setup.settings)

    async def known():
        return (await client.get(server_path(setup, booted.id), headers=setup.headers())).status == 200

    await eventually(known)
    answer = await client.patch(server_path(setup, booted.id), headers=setup.headers(),
                                json={"metadata": {"team": "web"}, "name": "tagged-2"})
    reserved = await client.patch(server_path(setup, booted.id), headers=setup.headers(),
                                  json={"metadata": {JOB_TAG: "mine"}})

    assert answer.status == 200 and (await answer.json())["metadata"] == {"team": "web"}
    assert project.conn.compute.get_server(booted.id).metadata == {"team": "web", JOB_TAG: "a-job"}
    assert (await listed_server(client, setup, booted.id))["metadata"] == {"team": "web"}
    assert reserved.status == 422 and list((await reserved.json())["errors"]) == ["metadata"]


async def test_bad_updates_are_422_404_or_403_before_nova_is_asked(service, api_client):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    server_id = (await listed_server_any(client, setup))["id"]
    document = yaml.safe_load(setup.settings.tokens_file.read_text())
    document["tokens"].append({"name": "dashboard", "sha256": digest_of("read-only").hex(),
                               "projects": "*", "role": "reader"})
    setup.settings.tokens_file.write_text(yaml.safe_dump(document))
    client = await api_client(setup.settings)

    empty = await client.patch(server_path(setup, server_id), json={}, headers=setup.headers())
    padded = await client.patch(server_path(setup, server_id), json={"name": " x"}, headers=setup.headers())
    unknown = await client.patch(server_path(setup, server_id), json={"flavor_id": "m1.small"},
                                 headers=setup.headers())
    missing = await client.patch(server_path(setup, "7d7f0ad1-2c43-4a4e-9d6c-1a2b3c4d5e6f"),
                                 json={"name": "x"}, headers=setup.headers())
    reader = await client.patch(server_path(setup, server_id), json={"name": "x"},
                                headers={"Authorization": "Bearer read-only"})

    assert [empty.status, padded.status, unknown.status] == [422, 422, 422]
    assert list((await empty.json())["errors"]) == ["_schema"]
    assert list((await padded.json())["errors"]) == ["name"]
    assert missing.status == 404 and reader.status == 403
    assert setup.projects[0].conn.compute.get_server(server_id).name != "x"


async def test_the_console_log_gives_the_last_lines_asked_for(service, api_client):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    server = await listed_server_any(client, setup)

    answer = await client.get(server_path(setup, server["id"], "/console-log") + "&lines=2",
                              headers=setup.headers())
    too_many = await client.get(server_path(setup, server["id"], "/console-log") + "&lines=10001",
                                headers=setup.headers())
    output = (await answer.json())["output"].splitlines()

    assert answer.status == 200 and answer.headers["Cache-Control"] == "no-store"
    assert len(output) == 2 and output[-1] == f"{server['name']} login: "
    assert too_many.status == 400


async def test_a_remote_console_url_is_answered_once_and_never_logged_and_refusals_say_why(
        service, api_client, caplog):
    setup = service(servers=1)
    client = await api_client(setup.settings)
    server_id = (await listed_server_any(client, setup))["id"]
    caplog.set_level(logging.DEBUG)

    vnc = await client.post(server_path(setup, server_id, "/remote-console"), json={"protocol": "vnc"},
                            headers=setup.headers())
    console = await vnc.json()
    spice = await client.post(server_path(setup, server_id, "/remote-console"), json={"protocol": "spice"},
                              headers=setup.headers())
    setup.projects[0].emulator.set_server_status(server_id, "SHUTOFF")
    stopped = await client.post(server_path(setup, server_id, "/remote-console"), json={"protocol": "vnc"},
                                headers=setup.headers())

    assert vnc.status == 201 and vnc.headers["Cache-Control"] == "no-store"
    assert (console["protocol"], console["type"]) == ("vnc", "novnc") and "token" in console["url"]
    assert spice.status == 422 and (await spice.json())["errors"] == {
        "protocol": ["Not offered by this cloud's Nova (spice-html5)."]}
    assert stopped.status == 409 and "running" in (await stopped.json())["detail"]
    token = console["url"].rsplit("=", 1)[-1]  # the service's own loggers (openstacksdk's and
    # keystoneauth's, which log bodies at DEBUG, are held at WARNING by its logging set-up)
    ours = [r for r in caplog.records if r.name.startswith(("app", "workers"))]
    assert not [r for r in ours if token in r.getMessage() or token in str(r.__dict__)]
