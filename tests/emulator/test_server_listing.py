"""Listing servers as Nova does: changes-since (with deletions), paging, filters, order."""
import time
from datetime import UTC, datetime

import pytest
from openstack import exceptions


def emulator_now(client) -> float:
    return client.call("GET", "/health")["now"]


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def small_pages(start_emulator):
    """An emulator whose Nova answers at most 5 servers a page."""
    return start_emulator("--max-limit", "5")


def test_changes_since_lists_only_what_changed_including_deletions(project, emulator):
    first, second, third = list(project.conn.compute.servers())
    since = iso(emulator_now(emulator))

    emulator.set_server_status(first.id, "SHUTOFF")
    project.conn.compute.delete_server(second)
    project.conn.compute.wait_for_delete(second, interval=0.2, wait=10)
    changed = {s.id: s for s in project.conn.compute.servers(changes_since=since)}

    assert set(changed) == {first.id, second.id}
    assert (changed[first.id].status, changed[first.id].power_state) == ("SHUTOFF", 4)
    assert changed[second.id].status == "DELETED" and changed[second.id].vm_state == "deleted"
    assert {s.id for s in project.conn.compute.servers()} == {first.id, third.id}


def test_changes_since_has_one_second_resolution(project, emulator):
    server = next(project.conn.compute.servers())
    emulator.set_server_status(server.id, "SHUTOFF")
    updated = project.conn.compute.get_server(server.id).updated_at

    assert updated.endswith("Z") and "." not in updated
    assert server.id in {s.id for s in project.conn.compute.servers(changes_since=updated)}
    later = iso(datetime.fromisoformat(updated.replace("Z", "+00:00")).timestamp() + 1)
    assert server.id not in {s.id for s in project.conn.compute.servers(changes_since=later)}


def test_server_removed_outside_the_api_is_reported_deleted(project, emulator):
    server = next(project.conn.compute.servers())
    since = iso(emulator_now(emulator))

    emulator.remove_server(server.id)

    assert [s.status for s in project.conn.compute.servers(changes_since=since)] == ["DELETED"]
    assert server.id not in {s.id for s in project.conn.compute.servers()}


def test_malformed_changes_since_is_a_400(project):
    status, body = project.compute_json("/servers/detail?changes-since=yesterday")

    assert status == 400 and "changes-since" in body["badRequest"]["message"]


def test_changes_before_from_microversion_2_66(project, emulator):
    since = iso(emulator_now(emulator) - 3600)
    status, body = project.compute_json(f"/servers/detail?changes-before={since}", "2.66")

    assert status == 200 and body["servers"] == []


def test_pages_follow_the_next_link_and_the_sdk_reads_them_all(project_factory, small_pages):
    project = project_factory(servers=12, quota_instances=20, client=small_pages)

    _, first = project.compute_json("/servers/detail")
    listed = list(project.conn.compute.servers())

    assert len(first["servers"]) == 5
    [link] = first["servers_links"]
    assert link["rel"] == "next" and f"marker={first['servers'][-1]['id']}" in link["href"]
    assert "limit=" not in link["href"]
    assert len(listed) == len({s.id for s in listed}) == 12
    numbers = [int(s.name.rsplit("-", 1)[1]) for s in listed]
    assert numbers == sorted(numbers, reverse=True)  # newest first


def test_limit_and_marker_paging_by_hand(project_factory, small_pages):
    project = project_factory(servers=12, quota_instances=20, client=small_pages)
    pages, path = [], "/servers/detail?limit=4"
    while path:
        status, body = project.compute_json(path)
        assert status == 200
        pages.append([s["id"] for s in body["servers"]])
        links = body.get("servers_links", [])
        path = links[0]["href"].split("/v2.1", 1)[1] if links else None

    assert [len(p) for p in pages] == [4, 4, 4, 0]  # a full last page still gets a next link
    assert len({i for p in pages for i in p}) == 12
    _, capped = project.compute_json("/servers/detail?limit=50")
    assert len(capped["servers"]) == 5  # max_limit wins


def test_unknown_marker_is_a_400(project):
    status, body = project.compute_json("/servers/detail?marker=not-a-server")

    assert status == 400 and body["badRequest"]["message"] == "marker [not-a-server] not found"


def test_filters_by_status_and_name(project, emulator):
    servers = sorted(project.conn.compute.servers(), key=lambda s: s.name)
    emulator.set_server_status(servers[0].id, "SHUTOFF")

    assert [s.id for s in project.conn.compute.servers(status="SHUTOFF")] == [servers[0].id]
    assert [s.id for s in project.conn.compute.servers(name="server-2$")] == [servers[1].id]
    with pytest.raises(exceptions.ForbiddenException):
        list(project.conn.compute.servers(status="DELETED"))


def test_unknown_query_parameters_are_ignored_before_2_75_and_refused_after(project):
    assert project.compute_json("/servers/detail?color=blue", "2.74")[0] == 200
    status, body = project.compute_json("/servers/detail?color=blue", "2.75")

    assert status == 400 and "Additional properties are not allowed" in body["badRequest"]["message"]


def test_summary_list_has_only_id_name_and_links(project):
    _, body = project.compute_json("/servers")

    assert {frozenset(s) for s in body["servers"]} == {frozenset({"id", "name", "links"})}


def test_build_delay_passes_in_wall_time_too(project):
    server = project.boot()
    deadline = time.monotonic() + 10  # the session's emulator builds for 1 s of its clock
    while (status := project.conn.compute.get_server(server.id).status) == "BUILD":
        assert time.monotonic() < deadline, "the build never ended in wall time"
        time.sleep(0.1)

    assert status == "ACTIVE"
