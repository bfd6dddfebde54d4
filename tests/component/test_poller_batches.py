"""The poller's batches on a real Redis, with a gateway that answers when the test lets it: what
a claimed batch starts from is read at once, and the writes of idle polls, sent together later,
are still sent when the poller stops; two pollers each keep polling the same projects."""
import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry

from app.events.stream import EventStream
from app.jobs.marks import ServerMarks
from app.process.composition import refresh_policy
from app.process.settings import Settings
from app.snapshot.recording import VolumeRecorder
from app.snapshot.refresh import ProjectRefresher
from app.snapshot.schedule import PollSchedule
from app.snapshot.snapshot_store import SnapshotStore
from app.store import redis_layout as layout
from app.store.redis_layout import PollField
from tests.component.test_refresh_rules import ScriptedGateway
from tests.support import eventually, settings_with
from workers.metrics import WorkerMetrics
from workers.poller import Poller

PROJECTS = [f"{n:032x}" for n in range(1, 6)]


class GatedGateway(ScriptedGateway):
    """Lists no servers, once the test opens the gate; counts the listings begun."""

    def __init__(self) -> None:
        super().__init__([])
        self.gate = asyncio.Event()
        self.begun = 0

    async def list_servers(self, project_id, changes_since=None, recovering=True):
        self.begun += 1
        await self.gate.wait()
        return await super().list_servers(project_id, changes_since, recovering)


class NoCloudWidePoll:
    """No region's servers are listed cloud-wide."""

    async def serving(self) -> dict:
        return {}


def workers_alive(count: int):
    async def alive() -> int:
        return count

    return alive


class FixedProjects:
    """The configured projects, which never change."""

    project_ids = PROJECTS

    def reload_if_changed(self) -> bool:
        return False


async def test_polls_running_when_the_poller_stops_are_written_and_their_projects_released(redis):
    gateway = GatedGateway()
    settings = Settings(redis_url="", clouds_file=Path("unused"), poll_interval=600.0,
                        openstack_threads=2)
    refresher = ProjectRefresher(redis, gateway, SnapshotStore(redis),
                                 ServerMarks(redis), EventStream(redis),
                                 refresh_policy(settings_with(resources_interval=3600.0)),
                                 VolumeRecorder(SnapshotStore(redis), EventStream(redis)))
    schedule = PollSchedule(redis)
    poller = Poller(settings, FixedProjects(), refresher, schedule, NoCloudWidePoll(),
                    WorkerMetrics(CollectorRegistry()), workers_alive(1))
    stop = asyncio.Event()
    running = asyncio.create_task(poller.run(stop, drain_timeout=10.0))

    await eventually(lambda: asyncio.sleep(0, gateway.begun == 4))  # as many as run at once: 2 x 2
    claimed = {project for bucket in range(layout.SCHEDULE_BUCKETS)
               for project in await redis.hkeys(layout.schedule_owner(bucket))}
    stop.set()
    gateway.gate.set()
    await asyncio.wait_for(running, 15)

    owners = [await redis.hlen(layout.schedule_owner(bucket)) for bucket in range(layout.SCHEDULE_BUCKETS)]
    cycles = {project: await redis.hget(layout.poll_state(project), PollField.CYCLE) for project in PROJECTS}
    assert len(claimed) == 4 and owners == [0] * layout.SCHEDULE_BUCKETS  # every claim released
    assert {cycles[project.decode()] for project in claimed} == {b"1"}  # and every poll written
    assert set(await schedule.polled_at()) == {project.decode() for project in claimed}  # its age


class RecordingGateway(ScriptedGateway):
    """Lists no servers; records the projects it listed."""

    def __init__(self) -> None:
        super().__init__([])
        self.listed: set[str] = set()

    async def list_servers(self, project_id, changes_since=None, recovering=True):
        self.listed.add(project_id)
        return await super().list_servers(project_id, changes_since, recovering)


class ManyProjects(FixedProjects):
    project_ids = [f"{n:032x}" for n in range(1, 65)]


async def test_two_pollers_share_the_buckets_and_each_keeps_polling_its_own_projects(redis):
    settings = settings_with(poll_interval=0.2, poll_lease=5.0, openstack_threads=4)
    policy = refresh_policy(settings_with(resources_interval=3600.0))
    gateways = [RecordingGateway(), RecordingGateway()]
    refreshers = [ProjectRefresher(redis, gateway, SnapshotStore(redis), ServerMarks(redis),
                                   EventStream(redis), policy,
                                       VolumeRecorder(SnapshotStore(redis), EventStream(redis)))
                  for gateway in gateways]
    pollers = [Poller(settings, ManyProjects(), refresher, PollSchedule(redis), NoCloudWidePoll(),
                      WorkerMetrics(CollectorRegistry()), workers_alive(2)) for refresher in refreshers]
    stop = asyncio.Event()
    running = [asyncio.create_task(poller.run(stop, drain_timeout=5.0)) for poller in pollers]

    async def every_project_polled_four_times() -> bool:
        cycles = [await redis.hget(layout.poll_state(p), PollField.CYCLE) for p in ManyProjects.project_ids]
        return all(int(cycle or 0) >= 4 for cycle in cycles)

    try:
        await eventually(every_project_polled_four_times, timeout=20)
        for gateway in gateways:
            gateway.listed.clear()  # the buckets were shared out while the first polls ran
        await eventually(_more_polls(redis, 4), timeout=20)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*running), 15)

    first, second = (gateway.listed for gateway in gateways)
    assert first and second and not first & second  # each project polled by one worker only
    assert first | second == set(ManyProjects.project_ids)
    holders = [await redis.get(layout.schedule_holder(b)) for b in range(layout.SCHEDULE_BUCKETS)]
    assert holders == [None] * layout.SCHEDULE_BUCKETS  # stopped pollers let go of their buckets


def _more_polls(redis, count: int):
    """A check that every project has been polled ``count`` more times than when it first ran."""
    started: dict[str, int] = {}

    async def check() -> bool:
        cycles = {p: int(await redis.hget(layout.poll_state(p), PollField.CYCLE) or 0)
                  for p in ManyProjects.project_ids}
        if not started:
            started.update(cycles)
        return all(cycles[p] >= started[p] + count for p in cycles)

    return check
