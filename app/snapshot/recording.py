"""Writing one server (or one volume) into the snapshot together with the events its change
makes."""
from dataclasses import replace
from typing import Any, cast

from ..core.records import Server, Volume
from ..events.server_events import changes_between, volume_change
from ..events.stream import EventStream
from .pending_tasks import PendingTasks, with_pending_tasks
from .snapshot_store import SnapshotStore


class ServerRecorder:
    """The one way a single server enters or leaves the snapshot outside a poll."""

    def __init__(self, snapshot: SnapshotStore, tasks: PendingTasks, events: EventStream) -> None:
        self._snapshot = snapshot
        self._tasks = tasks
        self._events = events

    async def record(self, project_id: str, server: Server | None = None,
                     removed: str | None = None, *, observed: bool = True,
                     extra: dict[str, Any] | None = None) -> None:
        """Store ``server`` (or remove the server ``removed``) and append the resulting events.

        An ``observed`` change (a live read) makes events only once the project has a baseline
        (its first listing); a change the service made itself (a job) always does. ``extra``
        is added to each event's data (the job's id, say).
        """
        server_id = server["id"] if server else removed
        if server_id is None:
            raise ValueError("record needs a server or the id of a removed one")
        before = await self._snapshot.server(project_id, server_id)
        known = {server_id: before} if before else {}
        upserts = await with_pending_tasks(self._tasks, project_id, [server] if server else [], known)
        removals = [removed] if removed else []
        if not observed or await self._snapshot.listing(project_id, "servers") is not None:
            events = changes_between(project_id, known, upserts, removals)
            await self._events.append([replace(e, data={**e.data, **(extra or {})}) for e in events])
        await self._snapshot.change_servers(project_id, upserts, removals)


class VolumeRecorder:
    """The one way a single volume enters or leaves the volumes list outside a refresh."""

    def __init__(self, snapshot: SnapshotStore, events: EventStream) -> None:
        self._snapshot = snapshot
        self._events = events

    async def record(self, project_id: str, volume: Volume | None, volume_id: str,
                     extra: dict[str, Any] | None = None) -> None:
        """Store ``volume`` (or take the volume ``volume_id`` out when it is None) and append the
        event its change makes (with ``extra`` in its data: the job's id)."""
        listing = await self._snapshot.listing(project_id, "volumes")
        before = next((v for v in listing.items() if v["id"] == volume_id), None) if listing else None
        event = volume_change(project_id, cast(Volume | None, before), volume)
        if event is not None:
            await self._events.append([replace(event, data={**event.data, **(extra or {})})])
        await self._snapshot.put_resource(project_id, "volumes", volume, volume_id, listing)
