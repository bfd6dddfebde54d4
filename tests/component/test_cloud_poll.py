"""The cloud-wide poll's rules on a real Redis, with a scripted cloud-wide listing: servers go to
their projects by tenant_id, strangers' are dropped, a server listed twice counts once (the
newest), a complete listing removes what it lacks, the region's claim is one worker's, and a
project's poll asks Nova nothing while the cloud-wide poll serves it."""
import time

from app.events.stream import EventStream
from app.jobs.marks import ServerMarks
from app.process.composition import refresh_policy
from app.snapshot.cloud_poll import CloudWidePoll
from app.snapshot.recording import VolumeRecorder
from app.snapshot.refresh import ProjectRefresher
from app.snapshot.snapshot_store import SnapshotStore
from app.store import redis_layout as layout
from app.store.redis_layout import CloudPollField, ListingField, PollField
from app.store.redis_values import decode_fields
from tests.component.test_refresh_rules import ScriptedGateway, nova_record
from tests.support import settings_with

REGION = "RegionOne"
FIRST, SECOND, STRANGER = (f"{n:032x}" for n in (0xA1, 0xB2, 0xC3))


class ScriptedDirectory:
    """Two projects configured in the region, and a cloud-wide reader of it."""

    reader_regions = [REGION]

    def projects_in(self, region):
        return frozenset((FIRST, SECOND)) if region == REGION else frozenset()


class ScriptedCloud(ScriptedGateway):
    """Answers the cloud-wide listing the test scripts; records the windows asked for."""

    def __init__(self, records):
        super().__init__([])
        self.directory = ScriptedDirectory()
        self.records = records
        self.windows = []
        self.project_listings = 0

    async def list_cloud_servers(self, region, changes_since=None):
        self.windows.append(changes_since)
        return list(self.records)

    async def list_servers(self, project_id, changes_since=None, recovering=True):
        self.project_listings += 1
        return await super().list_servers(project_id, changes_since, recovering)


def owned(record, tenant):
    return {**record, "tenant_id": tenant}


def cloud_poll(redis, cloud, **settings):
    policy = refresh_policy(settings_with(**{"full_resync_every": 3, "resources_interval": 3600.0,
                                             **settings}))
    refresher = ProjectRefresher(redis, cloud, SnapshotStore(redis), ServerMarks(redis),
                                 EventStream(redis), policy,
                                     VolumeRecorder(SnapshotStore(redis), EventStream(redis)))
    return CloudWidePoll(redis, cloud, refresher, policy, interval=30.0, stale_after=90.0), refresher


async def stored_ids(redis, project_id):
    return {key.decode() for key in await redis.hkeys(layout.servers(project_id))}


async def test_servers_go_to_their_projects_and_the_strangers_are_dropped(redis):
    cloud = ScriptedCloud([owned(nova_record("a1", "ACTIVE", "2026-01-01T00:00:05Z"), FIRST),
                           owned(nova_record("b1", "ACTIVE", "2026-01-01T00:00:07Z"), SECOND.upper()),
                           owned(nova_record("s1", "ACTIVE", "2026-01-01T00:00:09Z"), STRANGER)])
    polls, _ = cloud_poll(redis, cloud)

    routed = await polls.poll(REGION)

    assert (await stored_ids(redis, FIRST), await stored_ids(redis, SECOND)) == ({"a1"}, {"b1"})
    assert routed.dropped == 1 and await redis.keys(f"*{STRANGER}*") == []
    state = decode_fields(await redis.hgetall(layout.cloud_poll(REGION)))
    assert state[CloudPollField.WATERMARK] == "2026-01-01T00:00:09Z"  # the newest seen, strangers too
    assert cloud.windows == [None]  # the first listing is complete

    await polls.poll(REGION)

    assert cloud.windows[1] == "2026-01-01T00:00:07Z"  # changes since, less the overlap (2 s)


async def test_a_server_listed_twice_counts_once_as_its_newest_record(redis):
    cloud = ScriptedCloud([owned(nova_record("a1", "SHUTOFF", "2026-01-01T00:00:09Z"), FIRST),
                           owned(nova_record("a1", "ACTIVE", "2026-01-01T00:00:05Z"), FIRST)])
    polls, refresher = cloud_poll(redis, cloud)

    await polls.poll(REGION)

    servers = (await refresher.poll_starts([FIRST]))[FIRST].servers
    assert list(servers) == ["a1"] and servers["a1"]["status"] == "SHUTOFF"


async def test_a_complete_listing_removes_what_it_lacks_unless_a_record_has_no_tenant(redis):
    cloud = ScriptedCloud([owned(nova_record("a1", "ACTIVE", "2026-01-01T00:00:05Z"), FIRST),
                           owned(nova_record("a2", "ACTIVE", "2026-01-01T00:00:05Z"), FIRST)])
    polls, _ = cloud_poll(redis, cloud, full_resync_every=1)  # every listing is complete
    await polls.poll(REGION)
    cloud.records = [owned(nova_record("a1", "ACTIVE", "2026-01-01T00:00:05Z"), FIRST),
                     {"id": "p1", "status": "UNKNOWN"}]  # a partial record: whose could it be?

    await polls.poll(REGION)

    assert await stored_ids(redis, FIRST) == {"a1", "a2"}

    cloud.records = cloud.records[:1]
    await polls.poll(REGION)

    assert await stored_ids(redis, FIRST) == {"a1"}


async def test_a_deleted_record_removes_its_server(redis):
    cloud = ScriptedCloud([owned(nova_record("a1", "ACTIVE", "2026-01-01T00:00:05Z"), FIRST)])
    polls, _ = cloud_poll(redis, cloud)
    await polls.poll(REGION)
    cloud.records = [owned(nova_record("a1", "DELETED", "2026-01-01T00:00:08Z"), FIRST)]

    await polls.poll(REGION)

    assert cloud.windows[1] is not None and await stored_ids(redis, FIRST) == set()


async def test_the_poll_serves_after_a_success_and_not_after_a_failure_or_for_long(redis):
    cloud = ScriptedCloud([])
    polls, _ = cloud_poll(redis, cloud)
    assert await polls.serving() == {}

    await polls.poll(REGION)
    assert set(await polls.serving()) == {REGION}

    await polls.record_failure(REGION, RuntimeError("Nova is down"), time.time() + 5)
    assert await polls.serving() == {}

    await polls.poll(REGION)
    await redis.hset(layout.cloud_poll(REGION), CloudPollField.TAKEN_AT, repr(time.time() - 91))
    assert await polls.serving() == {}  # its worker died: its last listing is too old


async def test_one_worker_at_a_time_holds_a_region(redis):
    polls, _ = cloud_poll(redis, ScriptedCloud([]))

    assert await polls.hold(REGION, "worker-1", lease=5)
    assert not await polls.hold(REGION, "worker-2", lease=5)
    assert await polls.hold(REGION, "worker-1", lease=5)  # renewed
    await polls.let_go(REGION, "worker-2")  # not its claim: nothing happens
    assert not await polls.hold(REGION, "worker-2", lease=5)
    await polls.let_go(REGION, "worker-1")
    assert await polls.hold(REGION, "worker-2", lease=5)


async def test_a_project_served_by_the_cloud_wide_poll_asks_nova_nothing_about_servers(redis):
    cloud = ScriptedCloud([owned(nova_record("a1", "ACTIVE", "2026-01-01T00:00:05Z"), FIRST)])
    polls, refresher = cloud_poll(redis, cloud)
    await redis.hset(layout.poll_state(FIRST), PollField.RESOURCES_DUE, repr(time.time() + 3600))
    await polls.poll(REGION)
    served = (await polls.serving())[REGION]

    outcome = await refresher.poll(FIRST, (await refresher.poll_starts([FIRST]))[FIRST], served)
    await outcome.write()

    assert cloud.project_listings == 0 and not outcome.changed
    state = decode_fields(await redis.hgetall(layout.poll_state(FIRST)))
    assert state[PollField.WATERMARK] == "2026-01-01T00:00:05Z"  # a fallback starts from here
    taken_at = await redis.hget(layout.listing(FIRST, "servers"), ListingField.TAKEN_AT)
    assert float(taken_at) == served.taken_at

    outcome = await refresher.poll(FIRST, (await refresher.poll_starts([FIRST]))[FIRST], None)

    assert cloud.project_listings == 1  # not served: it lists its servers itself
