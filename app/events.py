"""Observed changes of servers, appended to each project's Redis stream for webhooks.

An event's id is derived from what was observed (project, server, kind of change, new state,
Nova's ``updated``), so the same change seen twice (two pollers, an API refresh racing a
poll, a retried poll, a job announcing what a poll already saw) carries the same id. The stream
appends an id only once among its latest ``EVENTS_MAX_LENGTH`` events; consumers can drop any
older repeat by its id.
"""
import itertools
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


# KEYS: the stream, its id set. ARGV: cap, timestamp, then id, type, server id, data per event.
_APPEND_NEW = """
local added = 0
for i = 3, #ARGV, 4 do
  if redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'id', ARGV[i], 'type', ARGV[i + 1],
               'server_id', ARGV[i + 2], 'timestamp', ARGV[2], 'data', ARGV[i + 3])
    added = added + 1
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[1]) - 1)
return added
"""


class EventStream:
    """Appends events to ``cs:{project}:events`` (capped, each id once) and reads them back."""

    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._clock = clock
        self._append_new = redis.register_script(_APPEND_NEW)

    async def append(self, events: list[ServerEvent]) -> None:
        """Append the events whose ids the project's stream does not hold yet, in order."""
        timestamp = repr(self._clock())
        by_project = itertools.groupby(sorted(events, key=lambda e: e.project_id),
                                       key=lambda e: e.project_id)
        for project_id, project_events in by_project:
            fields = [value for event in project_events for value in (
                event.id, event.type, event.server_id,
                json.dumps(event.data, separators=(",", ":")))]
            await self._append_new(keys=[keys.events(project_id), keys.event_ids(project_id)],
                                   args=[keys.EVENTS_MAX_LENGTH, timestamp, *fields])

    async def read(self, project_id: str, count: int = 1000) -> list[dict[str, Any]]:
        """The project's oldest ``count`` events, decoded."""
        entries = await self._redis.xrange(keys.events(project_id), count=count)
        return [{**{k.decode(): v.decode() for k, v in fields.items()},
                 "data": json.loads(fields[b"data"])} for _, fields in entries]
