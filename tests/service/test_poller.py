"""The Nova poller: changes reach the snapshot, events are recorded, failures back off."""
import zlib

from app.events.stream import EventStream
from app.store import redis_layout as layout
from app.store.redis_layout import PollField
from tests.support import eventually


async def list_by_id(client, setup):
    response = await client.get(f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers())
    return {s["id"]: s for s in await response.json()}, response


async def polls_done(redis, project_id) -> int:
    return int(await redis.hget(layout.poll_state(project_id), PollField.CYCLE) or 0)


async def test_status_change_and_deletion_reach_the_list(service, api_client, workers_running, redis):
    setup = service(servers=3)
    client = await api_client(setup.settings)
    emulator = setup.projects[0].emulator
    async with workers_running(setup.settings):
        await eventually(lambda: polls_done(redis, setup.project_id))
        first, second, _ = list((await list_by_id(client, setup))[0])
        emulator.set_server_status(first, "SHUTOFF")
        emulator.remove_server(second)

        async def changed():
            servers, _ = await list_by_id(client, setup)
            return second not in servers and servers[first]["status"] == "SHUTOFF"

        await eventually(changed)


async def test_every_observed_change_is_an_event_with_a_stable_id(service, workers_running, redis):
    setup = service(servers=2)
    project = setup.projects[0]
    async with workers_running(setup.settings):
        await eventually(lambda: polls_done(redis, setup.project_id))
        existing = next(project.conn.compute.servers())
        project.emulator.set_server_status(existing.id, "SHUTOFF")
        created = project.boot("fresh")
        project.emulator.remove_server(existing.id)

        async def seen_all():
            events = await EventStream(redis).read(setup.project_id)
            types = {(e["type"], e["server_id"]) for e in events}
            return events if {("server.created", created.id), ("server.deleted", existing.id),
                              ("server.status_changed", created.id)} <= types else None

        events = await eventually(seen_all)
        cycles = await polls_done(redis, setup.project_id)
        await eventually(lambda: _more_polls(redis, setup.project_id, cycles + 2))
        again = await EventStream(redis).read(setup.project_id)

    assert len({e["id"] for e in again}) == len(again)  # nothing observed twice
    assert [e["id"] for e in again[:len(events)]] == [e["id"] for e in events]
    build_to_active = [e for e in events if e["type"] == "server.status_changed"
                       and e["server_id"] == created.id]
    assert (build_to_active[0]["data"]["from"], build_to_active[0]["data"]["to"]) == ("BUILD", "ACTIVE")


async def _more_polls(redis, project_id, target):
    return await polls_done(redis, project_id) >= target


async def test_the_first_fetch_is_a_baseline_without_events(service, workers_running, redis):
    setup = service(servers=3)
    async with workers_running(setup.settings):
        await eventually(lambda: _more_polls(redis, setup.project_id, 2))

    assert await EventStream(redis).read(setup.project_id) == []


async def _idle_poll_calls(setup, redis, workers_running) -> tuple[int, list[dict], list[dict]]:
    """Polls done in a window of at least three idle polls, with Nova's and Cinder's requests."""
    emulator = setup.projects[0].emulator
    async with workers_running(setup.settings):
        await eventually(lambda: _more_polls(redis, setup.project_id, 2))
        after, cycles = emulator.last_request_seq(), await polls_done(redis, setup.project_id)
        await eventually(lambda: _more_polls(redis, setup.project_id, cycles + 6))
        done = await polls_done(redis, setup.project_id) - cycles
        calls = emulator.requests(project_id=setup.project_id, after=after)
    assert done >= 6 and {c["service"] for c in calls} <= {"compute", "volume"}
    return (done, [c for c in calls if c["service"] == "compute"],
            [c for c in calls if c["service"] == "volume"])


async def test_an_idle_project_costs_one_nova_request_per_poll_and_a_cinder_one_when_due(
        service, workers_running, redis):
    setup = service(servers=3, full_resync_every=1000, volume_poll_every=1)

    done, nova, cinder = await _idle_poll_calls(setup, redis, workers_running)

    assert {(c["method"], c["path"]) for c in nova} == {("GET", "/compute/v2.1/servers/detail")}
    assert len(nova) in (done, done + 1)  # a poll may be under way when counting stops
    assert all("changes-since=" in c["query"] for c in nova)
    # the look at changed volumes (Cinder's updated_at filter), nothing else
    assert {(c["method"], c["path"].endswith("/volumes/detail")) for c in cinder} == {("GET", True)}
    assert len(cinder) in (done, done + 1) and all("updated_at=gte" in c["query"] for c in cinder)


async def test_volumes_are_looked_at_every_nth_poll(service, workers_running, redis):
    setup = service(servers=1, full_resync_every=1000, volume_poll_every=3)

    done, nova, cinder = await _idle_poll_calls(setup, redis, workers_running)

    assert len(nova) in (done, done + 1)
    assert done // 3 <= len(cinder) <= -(-done // 3) + 1  # one poll in three, one may be under way
    assert all("updated_at=gte" in c["query"] for c in cinder)


async def test_a_full_resync_lists_every_volume_in_one_cinder_request(service, workers_running, redis):
    setup = service(servers=1, full_resync_every=1, volume_poll_every=1000)  # every poll a full one

    done, nova, cinder = await _idle_poll_calls(setup, redis, workers_running)

    assert all("changes-since" not in c["query"] for c in nova)
    # once Cinder was seen to filter by time (the first look), a full look is the full listing alone
    assert {(c["method"], c["path"].endswith("/volumes/detail")) for c in cinder} == {("GET", True)}
    assert len(cinder) in (done, done + 1) and not any("updated_at" in c["query"] for c in cinder)


async def test_full_resync_every_nth_poll(service, workers_running, redis):
    setup = service(servers=1, full_resync_every=3)
    emulator = setup.projects[0].emulator
    after = emulator.last_request_seq()
    async with workers_running(setup.settings):
        await eventually(lambda: _more_polls(redis, setup.project_id, 7))
    listings = [c for c in emulator.requests(project_id=setup.project_id, after=after)
                if c["path"] == "/compute/v2.1/servers/detail"][:7]

    full = [i for i, c in enumerate(listings) if "changes-since" not in c["query"]]
    offset = zlib.crc32(setup.project_id.encode())  # each project's resyncs are offset by its id
    assert full == [0, *(cycle for cycle in range(1, 7) if (cycle + offset) % 3 == 0)]
    assert len(full) == 3


async def test_a_down_cell_is_not_a_deletion(service, workers_running, redis, api_client):
    setup = service(servers=3, full_resync_every=1)
    client = await api_client(setup.settings)
    emulator = setup.projects[0].emulator
    async with workers_running(setup.settings):
        await eventually(lambda: polls_done(redis, setup.project_id))
        emulator.set_faults(setup.project_id, down_cell=True)
        cycles = await polls_done(redis, setup.project_id)
        await eventually(lambda: _more_polls(redis, setup.project_id, cycles + 3))
        servers, _ = await list_by_id(client, setup)

    assert len(servers) == 3
    assert await EventStream(redis).read(setup.project_id) == []


async def test_outage_marks_stale_backs_off_and_recovers(service, workers_running, redis, api_client):
    setup = service(servers=2, poll_backoff_max=1)
    client = await api_client(setup.settings)
    emulator = setup.projects[0].emulator
    async with workers_running(setup.settings):
        await eventually(lambda: polls_done(redis, setup.project_id))
        emulator.set_faults(setup.project_id, outage=True)

        async def failing_twice():
            return int(await redis.hget(layout.poll_state(setup.project_id), PollField.FAILURES) or 0) >= 2

        await eventually(failing_twice)
        servers, stale = await list_by_id(client, setup)
        last_error = await redis.hget(layout.poll_state(setup.project_id), PollField.LAST_ERROR)
        emulator.clear_faults(setup.project_id)

        async def recovered():
            _, response = await list_by_id(client, setup)
            return "X-Snapshot-Stale" not in response.headers

        await eventually(recovered)

    assert len(servers) == 2 and stale.headers["X-Snapshot-Stale"] == "true"
    assert b"HTTP 503" in last_error
    assert int(await redis.hget(layout.poll_state(setup.project_id), PollField.FAILURES)) == 0
