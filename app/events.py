"""Observed changes of servers, appended to each project's Redis stream for webhooks.

An event's id is derived from what was observed (project, server, kind of change, new state,
Nova's ``updated``), so the same change seen twice (two pollers, an API refresh racing a
poll, a retried poll) carries the same id and consumers can drop the duplicate.
"""
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from . import redis_layout as keys

_EVENT_NAMESPACE = uuid.UUID("0d7c1bd4-3f55-4c43-9a52-8c6d0bb3a0f1")
CREATED, STATUS_CHANGED, TASK_STATE_CHANGED, DELETED, JOB_FAILED = (
    "server.created", "server.status_changed", "server.task_state_changed", "server.deleted",
    "job.failed")
# A server is created once and deleted once, whoever notices (a job or a poll): same event id.
CREATED_FINGERPRINT, DELETED_FINGERPRINT = "created", "gone"


@dataclass(frozen=True)
class ServerEvent:
    """One observed change of one server."""

    project_id: str
    type: str
    server_id: str
    fingerprint: str
    data: dict[str, Any] = field(hash=False)

    @property
    def id(self) -> str:
        """Stable: the same observation always gives the same id."""
        return str(uuid.uuid5(_EVENT_NAMESPACE, "|".join(
            (self.project_id, self.server_id, self.type, self.fingerprint))))


def changes_between(project_id: str, before: Mapping[str, dict[str, Any]],
                    upserts: Iterable[dict[str, Any]], removals: Iterable[str]) -> list[ServerEvent]:
    """The events that turn ``before`` into ``before`` + ``upserts`` - ``removals``."""
    events = []
    for server in upserts:
        old = before.get(server["id"])
        stamp = f"{server['status']}|{server['task_state']}|{server['updated']}"
        if old is None:
            events.append(ServerEvent(project_id, CREATED, server["id"], CREATED_FINGERPRINT,
                                      {"server": server}))
        elif old["status"] != server["status"]:
            events.append(ServerEvent(project_id, STATUS_CHANGED, server["id"], stamp, {
                "from": old["status"], "to": server["status"], "server": server}))
        elif old["task_state"] != server["task_state"]:
            events.append(ServerEvent(project_id, TASK_STATE_CHANGED, server["id"], stamp, {
                "from": old["task_state"], "to": server["task_state"], "server": server}))
    for server_id in removals:
        if server_id in before:
            events.append(ServerEvent(project_id, DELETED, server_id, DELETED_FINGERPRINT, {
                "server": before[server_id]}))
    return events


class EventStream:
    """Appends events to ``cs:{project}:events`` (capped) and reads them back."""

    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._clock = clock

    async def append(self, events: list[ServerEvent]) -> None:
        """Append events in one round trip."""
        if not events:
            return
        timestamp = repr(self._clock())
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.xadd(keys.events(event.project_id), {
                    "id": event.id, "type": event.type, "server_id": event.server_id,
                    "timestamp": timestamp, "data": json.dumps(event.data, separators=(",", ":"))},
                    maxlen=keys.EVENTS_MAX_LENGTH, approximate=True)
            await pipe.execute()

    async def read(self, project_id: str, count: int = 1000) -> list[dict[str, Any]]:
        """The project's oldest ``count`` events, decoded."""
        entries = await self._redis.xrange(keys.events(project_id), count=count)
        return [{**{k.decode(): v.decode() for k, v in fields.items()},
                 "data": json.loads(fields[b"data"])} for _, fields in entries]
