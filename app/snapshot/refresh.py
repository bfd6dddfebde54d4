"""Refreshing one project's snapshot from OpenStack: the work of one poll.

Servers are read incrementally with Nova's ``changes-since`` and fully every Nth cycle,
because Nova forgets deleted servers after a while. The watermark is Nova's own ``updated``
time (one-second resolution), and each window reaches back ``overlap`` seconds, so a change in
the same second as the watermark is not missed. A partial record (a cell that is down) or a
missing key never counts as a deletion: the server keeps its last known state.

A poll starts from what it read before asking Nova (read for several polls at once by the
poller). If Nova shows nothing new against that, the poll writes only its progress: whatever a
job wrote meanwhile stays, as if the poll had come first. If it shows changes, the servers are
read again and compared anew, so that a job's write during the Nova call is not undone.
"""
import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from ..core.errors import ServiceError
from ..core.records import Server, Volume, created_time
from ..core.times import Clock, iso, parse_iso
from ..events.server_events import changes_between
from ..events.stream import EventStream
from ..openstack.gateway import NovaRecord, OpenStackGateway
from ..openstack.translation import idempotency_tags, is_partial, server_from_nova
from ..store import redis_layout as layout
from ..store.redis_layout import PollField
from ..store.redis_scripts import ScriptCall
from ..store.redis_values import decode
from .pending_tasks import PendingTasks, has_orphaned_tasks, with_pending_tasks
from .recording import VolumeRecorder
from .snapshot_store import PollStart, SnapshotStore

logger = logging.getLogger(__name__)
RECENT_GRACE = 60.0  # a full listing does not remove servers created this recently


def one_poll_in(project_id: str, cycle: int, every: int) -> bool:
    """Whether a project's poll of this ``cycle`` is the one in ``every`` that does more (a full
    resync, a look at volumes), offset by the project's id so that projects polled together do
    not do it in lockstep."""
    return (cycle + zlib.crc32(project_id.encode())) % every == 0


@dataclass(frozen=True)
class CloudListing:
    """What a project's poll takes from the cloud-wide poll that serves it."""

    taken_at: float  # when its latest listing began
    watermark: str | None  # the newest ``updated`` time it has seen


@dataclass(frozen=True)
class RefreshPolicy:
    """How often full resyncs and resource refreshes happen, and the changes-since overlap (the
    values, and their defaults, are the settings')."""

    full_resync_every: int
    volume_poll_every: int
    resources_interval: float
    overlap: float


@dataclass(frozen=True)
class PollOutcome:
    """A poll's write (what changed and the poll's progress), not yet sent."""

    write: ScriptCall
    changed: bool  # it writes servers (and their events are out): send it at once


@dataclass(frozen=True)
class PollState:
    """What the last polls of a project left behind."""

    watermark: str | None
    cycle: int
    resources_due: float
    failures: int = 0  # polls failed in a row


class ProjectRefresher:
    """Brings a project's snapshot up to date and records what changed."""

    def __init__(self, redis: Redis, gateway: OpenStackGateway, snapshot: SnapshotStore,
                 tasks: PendingTasks, events: EventStream, policy: RefreshPolicy,
                 volumes: VolumeRecorder, clock: Clock = time.time) -> None:
        self._redis = redis
        self._volumes = volumes
        self._time_filter: dict[str, bool] = {}  # project -> whether its Cinder filters by time (once asked)
        self._gateway = gateway
        self._snapshot = snapshot
        self._tasks = tasks
        self._events = events
        self._policy = policy
        self._clock = clock

    async def refresh(self, project_id: str) -> None:
        """One poll, written as it ends."""
        await (await self.poll(project_id, await self._read(project_id))).write()

    async def poll_starts(self, project_ids: Sequence[str]) -> dict[str, PollStart]:
        """What polls of these projects start from, read in one round trip."""
        return await self._snapshot.poll_starts(project_ids)

    async def _read(self, project_id: str) -> PollStart:
        return (await self.poll_starts([project_id]))[project_id]

    async def poll(self, project_id: str, read: PollStart,
                   cloud: CloudListing | None = None) -> PollOutcome:
        """One poll from ``read`` (which the caller read before it, see ``poll_starts``): resources
        when due, volumes one poll in ``volume_poll_every``, then servers (incrementally or in
        full); the write that records it, for the caller to send. While a ``cloud``-wide poll
        serves the project, its servers are that poll's: this one asks Nova nothing about them
        and records the cloud-wide poll's progress."""
        started = self._clock()
        state = _poll_state(read.poll_state)
        if state.resources_due <= started:
            await self.refresh_resources(project_id, started)
            read = await self._read(project_id)  # the flavor ids as just listed
        if cloud is not None and not await has_orphaned_tasks(self._tasks, project_id, read.servers):
            return PollOutcome(self._snapshot.change_call(
                project_id, [], [], taken_at=cloud.taken_at,
                poll_state=self._progress(state, cloud.watermark or state.watermark)), False)
        full = state.watermark is None or one_poll_in(project_id, state.cycle, self._policy.full_resync_every)
        if full or one_poll_in(project_id, state.cycle, self._policy.volume_poll_every):
            await self._poll_volumes(project_id, read, started, full)
        return await self._refresh_servers(project_id, state, read, full, started)

    async def _poll_volumes(self, project_id: str, read: PollStart, started: float, full: bool) -> None:
        """Volumes changed behind the service's back, into the volumes list with their events:
        those Cinder changed since the newest change seen (its 3.60 ``updated_at`` filter), and
        on a full resync all of them (the deleted ones leave). Not where Cinder cannot filter
        (the resources refresh keeps the list there), nor before the list's first fetch, nor
        while Cinder fails. An idle look costs one small Cinder listing and one read of the list."""
        filters = self._time_filter.get(project_id)
        if filters is False:
            return
        since = read.poll_state.get(PollField.VOLUMES_WATERMARK) or iso(started)
        try:
            changed: list[Volume] = []
            if not (full and filters):  # a full look lists them all below
                answer = await self._gateway.list_volumes_since(
                    project_id, minus_seconds(since, self._policy.overlap) or since)
                self._time_filter[project_id] = answer is not None
                if answer is None:
                    return
                changed = answer
            listing = await self._snapshot.listing(project_id, "volumes")
            if listing is None:
                return
            volumes = (cast(list[Volume], await self._gateway.list_resources(project_id, "volumes"))
                       if full else changed)
        except ServiceError as error:
            logger.info("volumes of %s not polled: %s", project_id, error)
            return
        stored = {v["id"]: v for v in listing.items()}
        for volume in volumes:
            if stored.get(volume["id"]) != volume:
                await self._volumes.record(project_id, volume, volume["id"])
        listed = {v["id"] for v in volumes}
        for volume_id in [i for i in stored if i not in listed] if full else []:
            await self._confirm_volume(project_id, volume_id)
        newest = max([since, *(str(v["updated"]) for v in volumes if v["updated"])])
        if newest != read.poll_state.get(PollField.VOLUMES_WATERMARK):
            await self._redis.hset(layout.poll_state(project_id), PollField.VOLUMES_WATERMARK, newest)

    async def _confirm_volume(self, project_id: str, volume_id: str) -> None:
        """A listed volume a full listing lacked: gone if Cinder says so when asked for it (one
        made after the listing began is not gone), whatever Cinder's clock and ours say."""
        try:
            volume = await self._gateway.get_volume(project_id, volume_id)
        except ServiceError as error:
            logger.info("volume %s of %s not confirmed: %s", volume_id, project_id, error)
            return
        await self._volumes.record(project_id, volume, volume_id)

    def _progress(self, state: PollState, watermark: str | None) -> dict[str, str]:
        """The poll state a successful poll leaves."""
        return {PollField.WATERMARK: watermark or "", PollField.CYCLE: str(state.cycle + 1),
                PollField.FAILURES: "0", PollField.LAST_ERROR: "",
                PollField.LAST_SUCCESS: repr(self._clock())}

    async def apply_listing(self, project_id: str, records: list[NovaRecord], read: PollStart,
                            full: bool, started: float) -> ScriptCall | None:
        """The write of what a cloud-wide listing begun at ``started`` shows of one project (its
        events are out), or None when nothing differs; ``full`` when the listing was complete."""
        write, changed = await self._write_of(project_id, records, read, full, started, {})
        return write if changed else None

    async def refresh_resources(self, project_id: str, now: float) -> None:
        """Re-list flavors, images, networks and keypairs."""
        for kind in layout.RESOURCE_KINDS:
            items = await self._gateway.list_resources(project_id, kind)
            await self._snapshot.replace_resources(project_id, kind, items, now)
        await self._redis.hset(layout.poll_state(project_id), PollField.RESOURCES_DUE,
                               repr(now + self._policy.resources_interval))

    async def failing(self, project_id: str) -> bool:
        """Whether the project's last poll failed (it is backing off)."""
        failures = await self._redis.hget(layout.poll_state(project_id), PollField.FAILURES)
        return failures is not None and int(decode(failures)) > 0

    async def record_failure(self, project_id: str, error: Exception) -> int:
        """Count a failed poll, mark the snapshot stale; returns consecutive failures."""
        await self._snapshot.mark_stale(project_id)
        failures = await self._redis.hincrby(layout.poll_state(project_id), PollField.FAILURES, 1)
        await self._redis.hset(layout.poll_state(project_id), PollField.LAST_ERROR, str(error)[:500])
        return int(failures)

    async def _refresh_servers(self, project_id: str, state: PollState, read: PollStart,
                               full: bool, started: float) -> PollOutcome:
        """Read the servers Nova changed (all of them when ``full``); the write of what differs,
        with the poll's progress."""
        since = None if full else minus_seconds(state.watermark, self._policy.overlap)
        # A project known not to be failing has no poll backoff for the call's success to end.
        records = await self._gateway.list_servers(project_id, changes_since=since,
                                                   recovering=state.failures > 0)
        if not full and await has_orphaned_tasks(self._tasks, project_id, read.servers):
            full = True  # rare: a job of ours failed and could not show Nova's record again
            records = await self._gateway.list_servers(project_id)
        watermark = latest_update(state.watermark, records)
        write, changed = await self._write_of(project_id, records, read, full, started,
                                              self._progress(state, watermark))
        return PollOutcome(write, changed)

    async def _write_of(self, project_id: str, records: list[NovaRecord], read: PollStart, full: bool,
                        started: float, progress: dict[str, str]) -> tuple[ScriptCall, bool]:
        """The write of what Nova's ``records``, listed from ``started``, change in the project (its
        events are out), with ``progress`` for the poll state; whether it changes servers."""
        before = read.servers
        upserts, removals = await self._changes(project_id, records, read, full, started)
        if upserts or removals:  # against the servers as they are now, not as read before Nova
            read = await self._read(project_id)
            before = read.servers
            upserts, removals = await self._changes(project_id, records, read, full, started)
            if _poll_state(read.poll_state).cycle > 0:  # the first fetch is the baseline, not a
                # burst of "created" events
                await self._events.append(changes_between(project_id, before, upserts, removals))
        kept = {r.get("id") for r in records if is_partial(r)}
        removals = [r for r in removals if r not in kept]
        written = {server["id"] for server in upserts}
        tags = idempotency_tags(r for r in records if r.get("id") in written)
        return self._snapshot.change_call(project_id, upserts, removals, taken_at=started,
                                          poll_state=progress, tags=tags), bool(upserts or removals)

    async def _changes(self, project_id: str, records: list[NovaRecord], read: PollStart,
                       full: bool, started: float) -> tuple[list[Server], list[str]]:
        """The servers to write and the ids to remove, for Nova's ``records`` against ``read``."""
        before = read.servers
        upserts: list[Server] = []
        removals: list[str] = []
        seen: set[str | None] = set()
        for record in records:
            seen.add(record.get("id"))
            if record.get("status") == "DELETED":
                removals.append(record["id"])
            elif not is_partial(record):
                server = server_from_nova(record, read.flavor_ids)
                if not _older(server, before.get(server["id"])):
                    upserts.append(server)
        upserts = [server for server in await with_pending_tasks(self._tasks, project_id, upserts, before)
                   if server != before.get(server["id"])]  # the overlap lists unchanged servers again
        if full:  # absent from a complete listing means gone; partial records are kept as known
            removals += [server_id for server_id in before
                         if server_id not in seen and not _recent(before[server_id], started)]
        return upserts, removals


def _poll_state(stored: dict[str, str]) -> PollState:
    """The poll state as the poll state hash holds it."""
    return PollState(watermark=stored.get(PollField.WATERMARK) or None,
                     cycle=int(stored.get(PollField.CYCLE, 0)),
                     resources_due=float(stored.get(PollField.RESOURCES_DUE, 0)),
                     failures=int(stored.get(PollField.FAILURES) or 0))


def _older(server: Server, stored: Server | None) -> bool:
    """A listing older than what a live read or a job already stored (Nova's times, ISO Z)."""
    return stored is not None and str(stored.get("updated", "")) > str(server.get("updated", ""))


def _recent(server: Server, listed_at: float) -> bool:
    """Created so recently that a listing started before it may not show it (a job's new server)."""
    created = created_time(server)
    return created is not None and created >= listed_at - RECENT_GRACE


def minus_seconds(watermark: str | None, seconds: float) -> str | None:
    if not watermark:
        return None
    return iso(parse_iso(watermark) - seconds)


def latest_update(current: str | None, records: list[NovaRecord]) -> str | None:
    """The newest of ``current`` and the records' ``updated`` times (compared as times, kept as
    Nova wrote them): the next watermark."""
    best = current or None
    for record in records:
        candidate = record.get("updated")
        if candidate and (best is None or parse_iso(str(candidate)) > parse_iso(best)):
            best = str(candidate)
    return best


