"""The cloud-wide poll against the emulator through openstacksdk: with ``CLOUD_READER`` the workers
list every project's servers in one admin listing, the projects' own polls stop listing theirs,
the admin credential is used for nothing else, strangers' servers stay out of Redis; while the
listing fails, the projects' polls list their servers again, and stop when it works."""
import aiohttp

from app.events.stream import EventStream
from app.store import redis_layout as layout
from app.store.redis_layout import CloudPollField, PollField
from app.store.redis_values import decode_fields
from devtools.emulator_client import CLOUD_READER, add_cloud_reader
from devtools.localredis import free_port
from tests.service.test_poller import list_by_id, polls_done
from tests.service.test_worker_health import get
from tests.support import eventually

REGION = "RegionOne"


def cloud_wide_service(service, emulator, projects: int, **overrides):
    """Projects polled every second, with the emulator's administrator as the cloud-wide reader."""
    setup = service(projects=projects, servers=2, cloud_reader=CLOUD_READER, poll_interval=1,
                    poll_backoff_max=2, full_resync_every=3, **overrides)
    admin = add_cloud_reader(setup.settings.clouds_file, emulator)
    return setup, admin


async def cloud_state(redis) -> dict[str, str]:
    return decode_fields(await redis.hgetall(layout.cloud_poll(REGION)))


async def served_by_the_cloud_wide_poll(redis, project_ids) -> bool:
    """The cloud-wide poll works, and each project's latest poll took its progress from it."""
    state = await cloud_state(redis)
    if not state.get(CloudPollField.TAKEN_AT) or state[CloudPollField.FAILURES] != "0":
        return False
    for project_id in project_ids:
        polled = decode_fields(await redis.hgetall(layout.poll_state(project_id)))
        if polled.get(PollField.WATERMARK) != state[CloudPollField.WATERMARK]:
            return False
    return True


def server_listings(emulator, after: int, project_id: str | None = None) -> list[dict]:
    return [r for r in emulator.requests(project_id=project_id, service="compute", after=after)
            if r["path"].endswith("/servers/detail")]


async def test_one_admin_listing_serves_every_project_and_their_own_listings_stop(
        service, api_client, workers_running, redis, emulator, project_factory):
    setup, admin = cloud_wide_service(service, emulator, projects=2)
    stranger = project_factory(servers=1)  # in Nova, but with no credentials here
    first, second = setup.projects
    client = await api_client(setup.settings)
    async with workers_running(setup.settings):
        await eventually(lambda: served_by_the_cloud_wide_poll(redis, [first.id, second.id]), timeout=20)
        changed, removed = next(first.conn.compute.servers()), next(second.conn.compute.servers())
        mark = emulator.last_request_seq()  # the test's own listings are before it
        cycles = {project.id: await polls_done(redis, project.id) for project in setup.projects}
        emulator.set_server_status(changed.id, "SHUTOFF")
        emulator.remove_server(removed.id)
        created = first.boot("made-in-nova")

        async def shown() -> bool:
            servers, _ = await list_by_id(client, setup)
            other, _ = await list_by_id(client, setup.__class__(
                setup.settings, setup.environ, [second], setup.tokens))
            return (servers.get(changed.id, {}).get("status") == "SHUTOFF" and created.id in servers
                    and removed.id not in other)

        await eventually(shown, timeout=15)
        for project_id, cycle in cycles.items():  # a whole poll of each project since the mark
            await eventually(lambda p=project_id, c=cycle: _polled_since(redis, p, c + 2))
        events = {(e["type"], e["server_id"]) for e in await EventStream(redis).read(first.id)}

    listings = server_listings(emulator, mark)
    assert listings and all(r["project_id"] == admin["project_id"] and "all_tenants=1" in r["query"]
                            for r in listings), listings  # no project listed its own servers
    assert {r["method"] for r in emulator.requests(project_id=admin["project_id"], after=0)
            if r["service"] != "identity"} == {"GET"}  # the admin credential never writes
    assert ("server.status_changed", changed.id) in events and ("server.created", created.id) in events
    assert await redis.keys(f"*{stranger.id}*") == []


async def test_the_projects_polls_take_over_while_the_cloud_wide_listing_fails_and_stop_when_it_works(
        service, api_client, workers_running, redis, emulator):
    # Without a failure, a listing serves for 2 x 1 + 20 s: longer than the take-over may take.
    setup, admin = cloud_wide_service(service, emulator, projects=1, openstack_timeout=20,
                                      poll_lease=30, job_visibility_timeout=30)
    project = setup.projects[0]
    client = await api_client(setup.settings)
    async with workers_running(setup.settings):
        await eventually(lambda: served_by_the_cloud_wide_poll(redis, [project.id]), timeout=20)
        emulator.set_faults(admin["project_id"], outage=True)
        try:
            await eventually(lambda: _failing(redis))
            server = next(project.conn.compute.servers())
            mark = emulator.last_request_seq()
            emulator.set_server_status(server.id, "SHUTOFF")

            async def shown() -> bool:  # only the project's own poll can show it now
                servers, _ = await list_by_id(client, setup)
                return servers[server.id]["status"] == "SHUTOFF"

            await eventually(shown, timeout=15)
            assert server_listings(emulator, mark, project.id)
        finally:
            emulator.clear_faults(admin["project_id"])

        await eventually(lambda: served_by_the_cloud_wide_poll(redis, [project.id]), timeout=20)
        cycle = await polls_done(redis, project.id)
        await eventually(lambda: _polled_since(redis, project.id, cycle + 1))
        mark = emulator.last_request_seq()
        await eventually(lambda: _polled_since(redis, project.id, cycle + 3))  # claimed after the mark

    assert server_listings(emulator, mark, project.id) == []
    assert server_listings(emulator, mark, admin["project_id"])


async def _failing(redis) -> bool:
    return (await cloud_state(redis)).get(CloudPollField.FAILURES, "0") != "0"


async def _polled_since(redis, project_id: str, cycle: int) -> bool:
    return await polls_done(redis, project_id) >= cycle


async def test_a_worker_process_reports_its_cloud_wide_polls_in_its_metrics(
        service, emulator, worker_process, project_factory):
    setup, _ = cloud_wide_service(service, emulator, projects=1)
    project_factory(servers=1)  # a stranger's server, dropped
    port = free_port()
    worker_process(setup, worker_metrics_port=port)

    async def polled() -> str | None:
        try:
            text = (await get(f"http://127.0.0.1:{port}/metrics"))[1]
        except aiohttp.ClientError:
            return None
        ok = 'cloud_poll_duration_seconds_count{outcome="ok",region="RegionOne"}'
        return text if ok in text and f"{ok} 0.0" not in text else None

    text = await eventually(polled, timeout=20)
    dropped = next(line for line in text.splitlines()
                   if line.startswith('cloud_servers_cloud_poll_dropped_servers_total{region="RegionOne"}'))
    assert float(dropped.split()[-1]) >= 1
