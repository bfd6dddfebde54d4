"""The refresher's rules for what a listing may change, on a real Redis with a scripted gateway."""
import time

import pytest

from app.events.stream import EventStream
from app.jobs.marks import ServerMarks
from app.process.composition import refresh_policy
from app.snapshot.recording import VolumeRecorder
from app.snapshot.refresh import ProjectRefresher
from app.snapshot.snapshot_store import SnapshotStore
from app.store import redis_layout as layout
from app.store.redis_layout import PollField
from app.store.redis_values import decode_fields
from tests.support import settings_with

PROJECT = "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d"


def nova_record(server_id: str, status: str, updated: str, created: str = "2026-01-01T00:00:00Z"):
    return {"id": server_id, "name": server_id, "status": status, "OS-EXT-STS:vm_state": "x",
            "OS-EXT-STS:task_state": None, "OS-EXT-STS:power_state": 1, "addresses": {},
            "metadata": {}, "flavor": {"id": "1"}, "image": "", "created": created,
            "updated": updated}


class ScriptedGateway:
    """Answers what the test scripts, like Nova would (a test double for the gateway only)."""

    def __init__(self, servers):
        self.servers = servers
        self.recovering = []

    async def list_servers(self, project_id, changes_since=None, recovering=True):
        self.recovering.append(recovering)
        return list(self.servers)

    async def list_resources(self, project_id, kind):
        return []

    async def list_volumes_since(self, project_id, since):
        return None  # a Cinder older than 3.60: volumes stay with the resources refresh


def api_server(server_id, status, updated, created):
    return {"id": server_id, "name": server_id, "status": status, "task_state": None,
            "power_state": 1, "addresses": {}, "flavor": {"id": "1"}, "image": None,
            "key_name": None, "availability_zone": None, "volumes_attached": [], "metadata": {},
            "created": created, "updated": updated}


async def refresher_with(redis, servers, stored):
    snapshot = SnapshotStore(redis)
    await snapshot.change_servers(PROJECT, stored, [], taken_at=time.time())
    await redis.hset(layout.poll_state(PROJECT), mapping={
        PollField.CYCLE: 1, PollField.WATERMARK: "", PollField.RESOURCES_DUE: time.time() + 3600})
    return ProjectRefresher(redis, ScriptedGateway(servers), snapshot,
                            ServerMarks(redis), EventStream(redis),
                            refresh_policy(settings_with(full_resync_every=1)),
                            VolumeRecorder(snapshot, EventStream(redis))), snapshot


async def test_an_older_listing_does_not_undo_a_newer_write(redis):
    stored = api_server("a", "ACTIVE", "2026-01-01T00:00:09Z", "2026-01-01T00:00:00Z")
    refresher, snapshot = await refresher_with(
        redis, [nova_record("a", "BUILD", "2026-01-01T00:00:05Z")], [stored])

    await refresher.refresh(PROJECT)

    assert (await snapshot.server(PROJECT, "a"))["status"] == "ACTIVE"
    assert await EventStream(redis).read(PROJECT) == []


async def test_a_full_listing_keeps_a_server_created_moments_ago(redis):
    just_made = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    old = api_server("old", "ACTIVE", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
    new = api_server("new", "BUILD", just_made, just_made)
    refresher, snapshot = await refresher_with(redis, [], [old, new])

    await refresher.refresh(PROJECT)

    stored = (await snapshot.poll_starts([PROJECT]))[PROJECT].servers
    assert set(stored) == {"new"}
    assert [(e["type"], e["server_id"]) for e in await EventStream(redis).read(PROJECT)] == [
        ("server.deleted", "old")]


@pytest.mark.parametrize("delete_pending, shown", [(True, "deleting"), (False, None)])
async def test_a_pending_delete_keeps_deleting_through_a_full_listing(redis, delete_pending, shown):
    stored = {**api_server("a", "ACTIVE", "2026-01-01T00:00:05Z", "2026-01-01T00:00:00Z"),
              "task_state": "deleting"}
    refresher, snapshot = await refresher_with(
        redis, [nova_record("a", "ACTIVE", "2026-01-01T00:00:05Z")], [stored])
    if delete_pending:
        await redis.set(layout.deleting(PROJECT, "a"), "job-1")

    await refresher.refresh(PROJECT)

    assert (await snapshot.server(PROJECT, "a"))["task_state"] == shown


async def test_a_listing_of_unchanged_servers_only_moves_the_lists_time(redis):
    """changes-since reaches back past the watermark, so an idle project's latest servers are
    listed again every poll: they are not written again, and the list is not rebuilt."""
    stored = api_server("a", "ACTIVE", "2026-01-01T00:00:05Z", "2026-01-01T00:00:00Z")
    refresher, snapshot = await refresher_with(
        redis, [nova_record("a", "ACTIVE", "2026-01-01T00:00:05Z")], [stored])
    await redis.hset(layout.listing(PROJECT, "servers"), "taken_at", "1.0")

    async def server_writes() -> int:  # each server written is one ZADD (its place in the list)
        return int((await redis.info("commandstats")).get("cmdstat_zadd", {}).get("calls", 0))

    before = await server_writes()
    await refresher.refresh(PROJECT)

    assert await server_writes() == before
    assert await snapshot.server(PROJECT, "a") == stored
    assert float(await redis.hget(layout.listing(PROJECT, "servers"), "taken_at")) > 1.0
    assert await EventStream(redis).read(PROJECT) == []


async def commands_sent(redis) -> dict[str, int]:
    """Redis's count of calls, by command."""
    return {name.removeprefix("cmdstat_"): stats["calls"]
            for name, stats in (await redis.info("commandstats")).items()}


async def test_an_idle_poll_reads_once_and_writes_once(redis):
    """Its state, stored servers and the flavors list's small fields in one pipeline, then one
    script that moves the list's time and records the poll's progress."""
    stored = api_server("a", "ACTIVE", "2026-01-01T00:00:05Z", "2026-01-01T00:00:00Z")
    refresher, _ = await refresher_with(
        redis, [nova_record("a", "ACTIVE", "2026-01-01T00:00:05Z")], [stored])

    before = await commands_sent(redis)
    await refresher.refresh(PROJECT)
    after = await commands_sent(redis)

    made = {name: calls - before.get(name, 0) for name, calls in after.items()
            if calls != before.get(name, 0) and name != "info"}
    # sent: HGETALL, HGETALL and HMGET in one pipeline, then EVALSHA; run by the script:
    # HSET of the poll state, HEXISTS, HGET and HSET of the list (its time, which only moves
    # forward), PUBLISH of the change
    assert made == {"hgetall": 2, "hmget": 1, "evalsha": 1, "hset": 2, "hexists": 1, "hget": 1,
                    "publish": 1}
    state = decode_fields(await redis.hgetall(layout.poll_state(PROJECT)))
    assert (state[PollField.CYCLE], state[PollField.WATERMARK]) == ("2", "2026-01-01T00:00:05Z")


async def test_a_polls_of_several_projects_start_from_one_read(redis):
    """The poller reads what a batch of polls starts from in one pipeline: each project's own."""
    other = "9a8b7c6d5e4f4a3b2c1d0e9f8a7b6c5d"
    snapshot = SnapshotStore(redis)
    await snapshot.change_servers(PROJECT, [api_server("a", "ACTIVE", "2026-01-01T00:00:05Z",
                                                       "2026-01-01T00:00:00Z")], [])
    await redis.hset(layout.poll_state(other), PollField.CYCLE, 7)

    refresher = ProjectRefresher(redis, ScriptedGateway([]), snapshot, ServerMarks(redis),
                                 EventStream(redis), refresh_policy(settings_with()),
                                 VolumeRecorder(snapshot, EventStream(redis)))
    reads = await refresher.poll_starts([PROJECT, other])

    assert list(reads[PROJECT].servers) == ["a"] and len(reads[other].servers) == 0
    assert reads[other].poll_state == {PollField.CYCLE: "7"} and reads[PROJECT].poll_state == {}


async def test_a_job_write_during_the_nova_call_is_compared_against_not_undone(redis):
    """A poll that finds changes reads the servers again: a job's newer write made while Nova
    answered is not overwritten by the older listing."""
    stored = api_server("a", "BUILD", "2026-01-01T00:00:01Z", "2026-01-01T00:00:00Z")
    refresher, snapshot = await refresher_with(
        redis, [nova_record("a", "ACTIVE", "2026-01-01T00:00:05Z")], [stored])
    read = (await refresher.poll_starts([PROJECT]))[PROJECT]
    by_job = {**stored, "status": "SHUTOFF", "updated": "2026-01-01T00:00:09Z"}
    await snapshot.change_servers(PROJECT, [by_job], [])

    outcome = await refresher.poll(PROJECT, read)
    await outcome.write()

    assert (await snapshot.server(PROJECT, "a"))["status"] == "SHUTOFF" and not outcome.changed


@pytest.mark.parametrize("failures, recovering", [(0, False), (3, True)])
async def test_only_a_failing_projects_listing_asks_to_end_its_backoff(redis, failures, recovering):
    """The after-success check (is the project backing off?) is one Redis read per poll: skipped
    when the poll state just read says the project is not failing."""
    await refresher_with(redis, [], [])
    await redis.hset(layout.poll_state(PROJECT), PollField.FAILURES, failures)
    gateway = ScriptedGateway([])

    await ProjectRefresher(redis, gateway, SnapshotStore(redis),
                           ServerMarks(redis), EventStream(redis),
                           refresh_policy(settings_with()),
                               VolumeRecorder(SnapshotStore(redis), EventStream(redis))).refresh(PROJECT)

    assert gateway.recovering == [recovering]
