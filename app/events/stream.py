"""The events appended to each project's Redis stream, for webhooks and listeners.

The stream appends an id only once among its latest ``EVENTS_MAX_LENGTH`` events; consumers can
drop any older repeat by its id.
"""
import itertools
import json
import time
from typing import Any

from redis.asyncio import Redis

from .. import redis_layout as layout
from ..redis_layout import EventField
from ..times import Clock
from .server_events import ServerEvent

# KEYS: the stream, its id set. ARGV: cap, timestamp, then id, type, server id, data per event.
_APPEND_NEW = f"""
local added = 0
for i = 3, #ARGV, 4 do
  if redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', '{EventField.ID}', ARGV[i],
               '{EventField.TYPE}', ARGV[i + 1], '{EventField.SERVER_ID}', ARGV[i + 2],
               '{EventField.TIMESTAMP}', ARGV[2], '{EventField.DATA}', ARGV[i + 3])
    added = added + 1
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[1]) - 1)
return added
"""


class EventStream:
    """Appends events to ``cs:{project}:events`` (capped, each id once) and reads them back."""

    def __init__(self, redis: Redis, clock: Clock = time.time) -> None:
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
            await self._append_new(keys=[layout.events(project_id), layout.event_ids(project_id)],
                                   args=[layout.EVENTS_MAX_LENGTH, timestamp, *fields])

    async def read(self, project_id: str, count: int = 1000) -> list[dict[str, Any]]:
        """The project's oldest ``count`` events, decoded."""
        entries = await self._redis.xrange(layout.events(project_id), count=count)
        events = [layout.text_fields(fields) for _, fields in entries or []]
        return [{**event, EventField.DATA: json.loads(event[EventField.DATA])} for event in events]
