"""Nova servers through openstacksdk: boot, BUILD -> ACTIVE, Nova's field names, delete."""
import re

import pytest
from openstack import exceptions

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def slow_cloud(start_emulator):
    """An emulator whose builds take 30 s and deletes 10 s of emulated time, moved by the tests."""
    return start_emulator("--build-delay", "30", "--delete-delay", "10")


def test_create_then_wait_for_active_with_the_sdk_helper(project):
    server = project.boot("web-01", metadata={"team": "search"})

    assert server.id and server.status is None  # the 202 body carries only id, links, adminPass
    server = project.conn.compute.wait_for_server(server, status="ACTIVE", interval=0.2, wait=15)

    assert (server.status, server.task_state, server.power_state) == ("ACTIVE", None, 1)
    assert server.metadata == {"team": "search"} and server.key_name == "my-keypair"
    [address] = server.addresses["private"]
    assert address["version"] == 4 and address["OS-EXT-IPS:type"] == "fixed"
    assert server.launched_at


def test_build_walks_through_novas_task_states(project_factory, slow_cloud):
    project = project_factory(client=slow_cloud)
    server_id = project.boot().id
    seen = []
    for _ in range(4):
        server = project.conn.compute.get_server(server_id)
        seen.append((server.status, server.vm_state, server.task_state, server.power_state))
        slow_cloud.advance_clock(10.5)

    assert seen == [("BUILD", "building", "scheduling", 0), ("BUILD", "building", "networking", 0),
                    ("BUILD", "building", "spawning", 0), ("ACTIVE", "active", None, 1)]


def test_updated_is_the_time_of_the_last_transition(project_factory, slow_cloud):
    project = project_factory(client=slow_cloud)
    server_id = project.boot().id
    _, before = project.compute_json(f"/servers/{server_id}")
    slow_cloud.advance_clock(120)
    _, after = project.compute_json(f"/servers/{server_id}")
    _, again = project.compute_json(f"/servers/{server_id}")

    assert ISO_Z.match(before["server"]["updated"]) and ISO_Z.match(after["server"]["created"])
    assert after["server"]["updated"] > before["server"]["updated"]
    assert again["server"]["updated"] == after["server"]["updated"]  # reading changes nothing


def test_server_body_uses_novas_field_names_and_types(project):
    _, body = project.compute_json("/servers/detail", "2.3")
    server = body["servers"][0]

    assert server["OS-EXT-STS:task_state"] is None and server["OS-EXT-STS:vm_state"] == "active"
    assert server["OS-EXT-STS:power_state"] == 1
    assert server["OS-EXT-AZ:availability_zone"] == "nova"
    assert server["tenant_id"] == project.id
    assert set(server["flavor"]) == {"id", "links"}
    assert ISO_Z.match(server["created"]) and ISO_Z.match(server["updated"])
    for attachment in server["os-extended-volumes:volumes_attached"]:
        assert set(attachment) == {"id", "delete_on_termination"}


def test_volume_booted_server_has_an_empty_string_image(project):
    _, body = project.compute_json("/servers/detail", "2.3")
    volume_booted = [s for s in body["servers"] if s["image"] == ""]

    assert len(volume_booted) == 1
    [volume] = volume_booted[0]["os-extended-volumes:volumes_attached"]
    sdk_server = project.conn.compute.get_server(volume_booted[0]["id"])
    assert volume["delete_on_termination"] is True
    assert sdk_server.attached_volumes[0]["id"] == volume["id"]


def test_flavor_is_embedded_from_microversion_2_47(project):
    _, old = project.compute_json("/servers/detail", "2.46")
    _, new = project.compute_json("/servers/detail", "2.47")

    assert old["servers"][0]["flavor"]["id"] == "1"
    assert new["servers"][0]["flavor"]["original_name"] == "m1.tiny"
    assert "id" not in new["servers"][0]["flavor"]


def test_delete_passes_through_deleting_then_the_server_is_gone(project_factory, slow_cloud):
    project = project_factory(servers=1, client=slow_cloud)
    server = next(project.conn.compute.servers())

    project.conn.compute.delete_server(server)
    deleting = project.conn.compute.get_server(server.id)
    project.conn.compute.delete_server(server)  # deleting again is accepted
    slow_cloud.advance_clock(11)

    assert (deleting.status, deleting.task_state) == ("ACTIVE", "deleting")
    with pytest.raises(exceptions.NotFoundException, match="could not be found"):
        project.conn.compute.get_server(server.id)
    assert list(project.conn.compute.servers()) == []


def test_wait_for_delete_with_the_sdk_helper(project):
    server = next(project.conn.compute.servers())

    project.conn.compute.delete_server(server)
    project.conn.compute.wait_for_delete(server, interval=0.2, wait=10)

    assert server.id not in {s.id for s in project.conn.compute.servers()}


def test_deleting_an_unknown_server_is_a_404(project):
    with pytest.raises(exceptions.NotFoundException):
        project.conn.compute.delete_server("00000000-0000-4000-8000-000000000000",
                                           ignore_missing=False)


def test_error_build_ends_in_error_with_a_fault(project_factory):
    project = project_factory(build_error_rate=1.0)
    server = project.boot()

    with pytest.raises(exceptions.ResourceFailure):
        project.conn.compute.wait_for_server(server, status="ACTIVE", interval=0.2, wait=15)
    failed = project.conn.compute.get_server(server.id)
    assert (failed.status, failed.vm_state) == ("ERROR", "error")
    assert "No valid host was found" in failed.fault["message"] and failed.fault["code"] == 500
