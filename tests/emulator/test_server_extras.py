"""Nova's rename, metadata, console log and remote consoles through openstacksdk, with Nova's
answers and refusals."""
import pytest
from openstack import exceptions


@pytest.fixture(scope="module")
def consoles(start_emulator):
    """An emulator offering only VNC consoles, builds lasting 5 s of emulated time."""
    return start_emulator("--build-delay", "5", "--consoles", "vnc")


def test_a_rename_is_answered_with_the_server_and_moves_its_updated_time(project):
    server = next(project.conn.compute.servers())

    renamed = project.conn.compute.update_server(server, name="renamed")
    refused = project.conn.compute.put(f"/servers/{server.id}", json={"server": {"name": " padded"}})

    assert renamed.name == "renamed" and project.conn.compute.get_server(server.id).name == "renamed"
    assert renamed.updated_at >= server.updated_at
    assert refused.status_code == 400 and "name" in refused.json()["badRequest"]["message"]


def test_put_metadata_replaces_every_item(project):
    server = next(project.conn.compute.servers())
    project.conn.compute.set_server_metadata(server, first="1")

    replaced = project.conn.compute.put(f"/servers/{server.id}/metadata", json={"metadata": {"second": "2"}})
    too_many = project.conn.compute.put(f"/servers/{server.id}/metadata",
                                        json={"metadata": {f"k{n}": "v" for n in range(129)}})

    assert replaced.status_code == 200 and replaced.json() == {"metadata": {"second": "2"}}
    assert project.conn.compute.get_server(server.id).metadata == {"second": "2"}
    assert too_many.status_code == 403 and "metadata_items" in too_many.json()["forbidden"]["message"]


def test_the_console_log_gives_its_last_lines_and_is_refused_while_building(project_factory, consoles):
    project = project_factory(client=consoles)
    building = project.boot()
    consoles.advance_clock(6)
    ready = project.boot()

    with pytest.raises(exceptions.ConflictException, match="is not ready"):
        project.conn.compute.get_server_console_output(ready)
    consoles.advance_clock(6)
    last = project.conn.compute.get_server_console_output(building, length=2)["output"].splitlines()
    everything = project.conn.compute.get_server_console_output(building)["output"].splitlines()

    assert len(last) == 2 and last == everything[-2:] and len(everything) > 2
    assert last[-1] == f"{building.name} login: "


def test_a_remote_console_of_an_offered_type_gives_a_url_and_others_are_refused(project_factory, consoles):
    project = project_factory(client=consoles)
    server = project.boot()
    consoles.advance_clock(6)

    console = project.conn.compute.create_server_remote_console(server, protocol="vnc", type="novnc")
    serial = project.conn.compute.post(f"/servers/{server.id}/remote-consoles", microversion="2.6",
                                       json={"remote_console": {"protocol": "serial", "type": "serial"}})
    old = project.conn.compute.post(f"/servers/{server.id}/remote-consoles", microversion="2.5",
                                    json={"remote_console": {"protocol": "vnc", "type": "novnc"}})
    project.conn.compute.stop_server(server)
    consoles.advance_clock(2)
    stopped = project.conn.compute.post(f"/servers/{server.id}/remote-consoles", microversion="2.6",
                                        json={"remote_console": {"protocol": "vnc", "type": "novnc"}})

    assert (console.protocol, console.type) == ("vnc", "novnc") and "token" in console.url
    assert serial.status_code == 400
    assert serial.json()["badRequest"]["message"] == "Unavailable console type serial."
    assert old.status_code == 404
    assert stopped.status_code == 409 and "is not ready" in stopped.json()["conflictingRequest"]["message"]
