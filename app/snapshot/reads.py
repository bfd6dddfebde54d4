"""Reading a project's state: from the snapshot when fresh enough, live from OpenStack otherwise."""
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from redis.exceptions import RedisError

from ..core.errors import NotFound, OpenStackUnavailable, ServiceError
from ..core.records import Server, Volume
from ..core.times import Clock
from ..openstack.gateway import OpenStackGateway
from ..openstack.translation import is_partial, server_from_nova
from ..store.redis_failures import out_of_memory
from .recent_shows import RecentShows
from .recording import ServerRecorder, VolumeRecorder
from .refresh import ProjectRefresher
from .schedule import PollSchedule
from .snapshot_store import Listing, SnapshotStore

logger = logging.getLogger(__name__)
Value = TypeVar("Value")


@dataclass(frozen=True)
class ServerView:
    """One server as answered: from a live read of Nova (``age``: seconds since that read), or
    the snapshot's copy when Nova is unreachable (``stale``; ``age``: the snapshot's)."""

    server: Server
    stale: bool
    age: float | None


class SingleFlight:
    """Concurrent callers asking for the same key share one run of the work."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[Any]] = {}

    async def run(self, key: str, work: Callable[[], Awaitable[Value]]) -> Value:
        """Run ``work`` unless a run for ``key`` is under way; either way wait for it and answer
        what it gave (or raise what it raised)."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(work())
            self._running[key] = task
            task.add_done_callback(lambda _: self._running.pop(key, None))
        result: Value = await asyncio.shield(task)
        return result


class ProjectReader:
    """What the GET endpoints answer, with the seed's promise: lists at most ``max_age`` old."""

    def __init__(self, snapshot: SnapshotStore, refresher: ProjectRefresher,
                 gateway: OpenStackGateway, recorder: ServerRecorder, schedule: PollSchedule,
                 shows: RecentShows, volumes: VolumeRecorder, *, max_age: float, poll_interval: float,
                 clock: Clock = time.time) -> None:
        self._snapshot = snapshot
        self._volumes = volumes
        self._shows = shows
        self._refresher = refresher
        self._gateway = gateway
        self._recorder = recorder
        self._schedule = schedule
        self._max_age = max_age
        self._poll_interval = poll_interval
        self._clock = clock
        self._flights = SingleFlight()

    async def listing(self, project_id: str, kind: str) -> Listing:
        """The list of one kind; refreshed live (once for all concurrent callers) when too old.

        If OpenStack cannot be reached, the old list is answered, marked stale; with no list at
        all, the OpenStack error is raised.
        """
        listing = await self._snapshot.listing(project_id, kind)
        if listing is not None and listing.age(self._clock()) <= self._max_age:
            return listing
        try:
            await self._flights.run(f"{project_id}:{kind}", lambda: self._refresh(project_id, kind))
        except (ServiceError, RedisError) as error:  # OpenStack down, or Redis full
            if listing is None:
                raise
            logger.warning("answering a stale %s list of project %s: %s", kind, project_id, error)
            return replace(listing, stale=True)
        fresh = await self._snapshot.listing(project_id, kind)
        if fresh is None:  # pragma: no cover - a refresh always writes the list
            raise OpenStackUnavailable(f"no {kind} could be listed")
        return fresh

    async def refreshed_listing(self, project_id: str, kind: str) -> Listing:
        """The list of one kind after a live refresh (shared with concurrent callers)."""
        await self._flights.run(f"{project_id}:{kind}", lambda: self._refresh(project_id, kind))
        return await self.listing(project_id, kind)

    async def _refresh(self, project_id: str, kind: str) -> None:
        now = self._clock()
        if kind == "servers":
            await self._refresher.refresh(project_id)
        else:
            await self._refresher.refresh_resources(project_id, now)
        await self._schedule.register([project_id], now + self._poll_interval)

    async def live_volume(self, project_id: str, volume_id: str) -> Volume:
        """A volume as Cinder has it now, written through to the volumes list; ``NotFound`` (and
        out of the list) when Cinder does not have it in the project."""
        volume = await self._gateway.get_volume(project_id, volume_id)
        await self._volumes.record(project_id, volume, volume_id)
        if volume is None:
            raise NotFound(f"Volume {volume_id} does not exist in project {project_id}.")
        return volume

    async def live_server(self, project_id: str, server_id: str) -> ServerView:
        """The server as Nova has it now: a read less than ``SHOW_FRESHNESS`` old (made by any
        replica, unless the service wrote the server since), else a new one, which concurrent
        shows in this process share and which is written through to the snapshot."""
        shared = await self._shows.recent(project_id, server_id, self._clock())
        if shared is not None:
            server, read_at = shared
            return ServerView(server, stale=False, age=max(0.0, self._clock() - read_at))
        return await self._flights.run(f"show:{project_id}:{server_id}",
                                       lambda: self._read_live(project_id, server_id))

    async def _read_live(self, project_id: str, server_id: str) -> ServerView:
        """One read of Nova, written through and shared."""
        began_at = self._clock()
        view = await self._read_nova(project_id, server_id)
        if not view.stale:
            await self._shows.remember(project_id, server_id, view.server, self._clock(), began_at)
        return view

    async def _read_nova(self, project_id: str, server_id: str) -> ServerView:
        before = await self._snapshot.server(project_id, server_id)
        try:
            record = await self._gateway.get_server(project_id, server_id)
        except NotFound:
            if before is not None:
                await self._recorder.record(project_id, removed=server_id)
            raise NotFound(f"Server {server_id} does not exist in project {project_id}.") from None
        except OpenStackUnavailable as error:
            return await self._snapshot_copy(project_id, before, error)
        if is_partial(record):
            unknown = OpenStackUnavailable("Nova cannot tell this server's state now (its cell is "
                                           "down) and it is not in the snapshot.")
            return await self._snapshot_copy(project_id, before, unknown)
        server = server_from_nova(record, await self._snapshot.flavor_ids(project_id))
        if server == before:  # as stored: nothing to write through, no event
            return ServerView(before, stale=False, age=0.0)
        try:
            await self._recorder.record(project_id, server)
        except RedisError as error:
            if not out_of_memory(error):
                raise
            logger.warning("Redis is full: server %s is answered, not written through", server_id)
            return ServerView(server, stale=False, age=0.0)
        stored = await self._snapshot.server(project_id, server_id)
        return ServerView(stored or server, stale=False, age=0.0)

    async def _snapshot_copy(self, project_id: str, copy: Server | None,
                             error: OpenStackUnavailable) -> ServerView:
        if copy is None:
            raise error
        logger.warning("answering the snapshot's copy of a server of project %s: %s",
                       project_id, error)
        listing = await self._snapshot.listing(project_id, "servers")
        age = listing.age(self._clock()) if listing else None
        return ServerView(copy, stale=True, age=age)
