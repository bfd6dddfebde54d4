"""``GET /cloud/servers/{id}``: live from Nova, written through, shared for ``SHOW_FRESHNESS`` by
every replica, and what happens when Nova is down."""
import asyncio
import time

from app.events.stream import EventStream
from app.snapshot.snapshot_store import SnapshotStore
from app.store import redis_layout as layout
from app.store.redis_layout import PollField
from tests.support import eventually


def show_path(setup, server_id):
    return f"/cloud/servers/{server_id}?project_id={setup.project_id}"


async def test_show_is_live_and_written_through_to_the_list(listed_service, redis):
    setup, client, listed = listed_service
    server_id = listed[0]["id"]
    setup.projects[0].emulator.set_server_status(server_id, "SHUTOFF")

    shown = await client.get(show_path(setup, server_id), headers=setup.headers("p0"))
    stored = await SnapshotStore(redis).server(setup.project_id, server_id)
    relisted = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                       headers=setup.headers())).json()

    body = await shown.json()
    assert shown.status == 200 and (body["status"], body["power_state"]) == ("SHUTOFF", 4)
    assert "X-Snapshot-Stale" not in shown.headers
    assert stored == body
    assert {s["id"]: s["status"] for s in relisted}[server_id] == "SHUTOFF"


async def test_a_server_shown_as_stored_writes_nothing(listed_service, redis):
    """The show path's cost is Nova's: an unchanged server is not written through again."""
    setup, client, listed = listed_service
    await client.get(show_path(setup, listed[0]["id"]), headers=setup.headers())

    async def snapshot_writes() -> int:  # each write is published on the change channel
        return int((await redis.info("commandstats")).get("cmdstat_publish", {}).get("calls", 0))

    before = await snapshot_writes()
    shown = await client.get(show_path(setup, listed[0]["id"]), headers=setup.headers())
    after = await snapshot_writes()

    assert shown.status == 200 and (await shown.json()) == listed[0] and after == before


async def test_a_change_seen_live_is_recorded_as_an_event(listed_service, redis):
    setup, client, listed = listed_service
    server_id = listed[0]["id"]
    setup.projects[0].emulator.set_server_status(server_id, "SHUTOFF")

    await client.get(show_path(setup, server_id), headers=setup.headers())
    await client.get(show_path(setup, server_id), headers=setup.headers())  # nothing new

    events = await EventStream(redis).read(setup.project_id)
    assert [(e["type"], e["data"]["from"], e["data"]["to"]) for e in events] == [
        ("server.status_changed", "ACTIVE", "SHUTOFF")]


async def test_unknown_server_is_404(listed_service):
    setup, client, _ = listed_service

    response = await client.get(show_path(setup, "00000000-0000-4000-8000-000000000000"),
                                headers=setup.headers())

    assert response.status == 404
    assert (await response.json(content_type="application/problem+json"))["type"] == "/problems/not-found"


async def test_another_projects_server_is_404(listed_service, project_factory):
    setup, client, _ = listed_service
    stranger = next(project_factory(servers=1).conn.compute.servers())

    response = await client.get(show_path(setup, stranger.id), headers=setup.headers())

    assert response.status == 404


async def test_server_gone_from_nova_leaves_the_snapshot(listed_service, redis):
    setup, client, listed = listed_service
    server_id = listed[0]["id"]
    setup.projects[0].emulator.remove_server(server_id)

    response = await client.get(show_path(setup, server_id), headers=setup.headers())
    relisted = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                       headers=setup.headers())).json()

    assert response.status == 404 and server_id not in {s["id"] for s in relisted}
    events = await EventStream(redis).read(setup.project_id)
    assert [(e["type"], e["server_id"]) for e in events] == [("server.deleted", server_id)]


async def test_nova_down_answers_the_snapshot_copy_marked_stale(listed_service):
    setup, client, listed = listed_service
    setup.projects[0].emulator.set_faults(setup.project_id, outage=True)

    response = await client.get(show_path(setup, listed[0]["id"]), headers=setup.headers())

    assert response.status == 200 and response.headers["X-Snapshot-Stale"] == "true"
    assert await response.json() == listed[0] and "X-Snapshot-Age" in response.headers


async def test_nova_down_and_no_copy_is_503_and_a_timeout_is_504(service, api_client):
    setup = service(servers=1, openstack_timeout=0.5, poll_lease=5)
    client = await api_client(setup.settings)
    emulator = setup.projects[0].emulator
    server_id = next(setup.projects[0].conn.compute.servers()).id

    emulator.set_faults(setup.project_id, outage=True)
    down = await client.get(show_path(setup, server_id), headers=setup.headers())
    emulator.set_faults(setup.project_id, latency=2)
    slow = await client.get(show_path(setup, server_id), headers=setup.headers())

    assert (down.status, slow.status) == (503, 504)


async def test_expired_keystone_token_never_reaches_the_caller(listed_service):
    setup, client, listed = listed_service
    await client.get(show_path(setup, listed[0]["id"]), headers=setup.headers())
    setup.projects[0].emulator.advance_clock(3601)

    response = await client.get(show_path(setup, listed[1]["id"]), headers=setup.headers())

    assert response.status == 200 and "X-Snapshot-Stale" not in response.headers


async def test_showing_a_server_before_any_listing_emits_no_events(service, api_client, redis,
                                                                  workers_running):
    setup = service(servers=3)
    client = await api_client(setup.settings)
    server_id = next(setup.projects[0].conn.compute.servers()).id

    shown = await client.get(show_path(setup, server_id), headers=setup.headers())
    async with workers_running(setup.settings):
        async def polled_twice():
            return int(await redis.hget(layout.poll_state(setup.project_id), PollField.CYCLE) or 0) >= 2

        await eventually(polled_twice)

    assert shown.status == 200
    assert await EventStream(redis).read(setup.project_id) == []


def nova_reads(emulator, project_id: str, server_id: str, after: int) -> int:
    """How many times Nova was asked for the server since request ``after``."""
    return len([r for r in emulator.requests(project_id=project_id, after=after)
                if r["method"] == "GET" and r["path"] == f"/compute/v2.1/servers/{server_id}"])


async def test_concurrent_and_repeated_shows_share_one_nova_read_across_replicas(
        service, api_client):
    setup = service(servers=1, live_reads_per_minute=100_000)
    one, other = await api_client(setup.settings), await api_client(setup.settings)  # two replicas
    listed = await (await one.get(f"/cloud/servers?project_id={setup.project_id}",
                                  headers=setup.headers())).json()
    server_id, emulator = listed[0]["id"], setup.projects[0].emulator
    after = emulator.last_request_seq()

    together = await asyncio.gather(*(one.get(show_path(setup, server_id), headers=setup.headers())
                                      for _ in range(64)))
    from_the_other = await other.get(show_path(setup, server_id), headers=setup.headers())

    assert {answer.status for answer in together} == {200} and from_the_other.status == 200
    assert nova_reads(emulator, setup.project_id, server_id, after) == 1
    assert {answer.headers["Age"] for answer in together} == {"0"}
    assert int(from_the_other.headers["Age"]) <= setup.settings.show_freshness
    assert await from_the_other.json() == await together[0].json()


async def test_a_change_in_nova_shows_within_the_freshness_and_an_action_at_once(
        service, api_client):
    setup = service(servers=1, live_reads_per_minute=100_000)
    client = await api_client(setup.settings)
    listed = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                     headers=setup.headers())).json()
    server_id, emulator = listed[0]["id"], setup.projects[0].emulator
    path = show_path(setup, server_id)
    await client.get(path, headers=setup.headers())  # a read, shared for the next second

    stopped = await client.post(f"/cloud/servers/{server_id}/actions?project_id={setup.project_id}",
                                json={"action": "stop"}, headers=setup.headers())
    right_after = await (await client.get(path, headers=setup.headers())).json()
    emulator.set_server_status(server_id, "ERROR")  # behind the service's back
    changed_at = time.monotonic()

    async def shows_error():
        return (await (await client.get(path, headers=setup.headers())).json())["status"] == "ERROR"

    await eventually(shows_error, timeout=5, interval=0.05)
    seen_after = time.monotonic() - changed_at

    assert stopped.status == 202 and right_after["task_state"] == "powering-off"  # not the old read
    assert seen_after <= setup.settings.show_freshness + 0.5
