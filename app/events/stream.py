"""The events appended to each project's Redis stream, for webhooks and listeners.

The stream appends an id only once among its latest ``EVENTS_KEPT`` events; consumers can
drop any older repeat by its id. It keeps its latest ``EVENTS_KEPT`` events and, beyond
them, every event the webhooks' fan-out has not taken yet: an outbox that trimming never
overtakes. Each entry's Redis stream id (``<ms>-<n>``) is its position:
webhook fan-out and ``GET /cloud/events`` resume from one.
"""
import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis, RedisCluster

from ..core.times import Clock, iso
from ..store import redis_layout as layout
from ..store.redis_layout import EventField
from ..store.redis_values import decode, decode_fields
from .server_events import ServerEvent

# Each part of a Redis stream id is a 64-bit unsigned integer: 19 digits always fit (20 may not,
# and Redis refuses such an id outright, which must be the client's 400, not the store's 503).
POSITION_PATTERN = r"[0-9]{1,19}-[0-9]{1,19}"
START = "0-0"  # before the first entry of any stream
CLUSTER_POLL = 0.1  # seconds between reads of the streams with listeners, on a cluster


@dataclass(frozen=True)
class StoredEvent:
    """An event as the project's stream holds it, at its position in the stream."""

    position: str
    project_id: str
    id: str
    type: str
    server_id: str
    observed_at: float
    data: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        """What subscribers and listeners receive: ``{id, type, timestamp, project_id, data}``."""
        return {"id": self.id, "type": self.type, "timestamp": iso(self.observed_at),
                "project_id": self.project_id, "data": self.data}


def position_key(position: str) -> tuple[int, int]:
    """A stream position as a pair that sorts as Redis orders positions."""
    milliseconds, _, sequence = position.partition("-")
    return int(milliseconds), int(sequence or 0)


def is_position(text: str) -> bool:
    """Whether ``text`` is a stream position (``<ms>-<n>``)."""
    return re.fullmatch(POSITION_PATTERN, text) is not None

# KEYS: the stream, its id set, the webhooks' fan-out cursor. ARGV: cap, timestamp, then id,
# type, server id, data per event. The stream keeps its latest ``cap`` events, and every event
# the fan-out has not taken yet, however many (workers down for long): trimming never passes
# the cursor, so no event is dropped before it is queued for the project's webhooks.
_APPEND_NEW = f"""
local function at_or_before(a, b)
  local am, as = string.match(a, '(%d+)-(%d+)')
  local bm, bs = string.match(b, '(%d+)-(%d+)')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as <= bs)
end
local cap = tonumber(ARGV[1])
local added = 0
for i = 3, #ARGV, 4 do
  if redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[1], '*', '{EventField.ID}', ARGV[i],
               '{EventField.TYPE}', ARGV[i + 1], '{EventField.SERVER_ID}', ARGV[i + 2],
               '{EventField.TIMESTAMP}', ARGV[2], '{EventField.DATA}', ARGV[i + 3])
    added = added + 1
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -cap - 1)
local excess = redis.call('XLEN', KEYS[1]) - cap
if excess > 0 then
  local cursor = redis.call('GET', KEYS[3])
  if not cursor then
    redis.call('XTRIM', KEYS[1], 'MAXLEN', cap)
  else
    local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
    local taken = 0
    for _, entry in ipairs(oldest) do
      if not at_or_before(entry[1], cursor) then break end
      taken = taken + 1
    end
    if taken == #oldest then
      redis.call('XTRIM', KEYS[1], 'MAXLEN', cap)
    elseif taken > 0 then
      redis.call('XTRIM', KEYS[1], 'MINID', oldest[taken + 1][1])
    end
  end
end
return added
"""


# KEYS: the fan-out hints. ARGV: project, the hint's score when its fan-out began.
_SETTLE_HINT = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
"""


class EventStream:
    """Appends events to ``cs:{project}:events`` (capped, each id once) and reads them back."""

    def __init__(self, redis: Redis, clock: Clock = time.time, cap: int = layout.EVENTS_KEPT) -> None:
        self._redis = redis
        self._clock = clock
        self._cap = cap  # events kept beyond those the webhooks' fan-out has not taken
        self._append_new = redis.register_script(_APPEND_NEW)
        self._settle_hint = redis.register_script(_SETTLE_HINT)

    async def append(self, events: list[ServerEvent]) -> None:
        """Append the events whose ids the project's stream does not hold yet, in order."""
        timestamp = repr(self._clock())
        by_project = itertools.groupby(sorted(events, key=lambda e: e.project_id),
                                       key=lambda e: e.project_id)
        for project_id, project_events in by_project:
            fields = [value for event in project_events for value in (
                event.id, event.type, event.server_id,
                json.dumps(event.data, separators=(",", ":")))]
            await self._append_new(keys=[layout.events(project_id), layout.event_ids(project_id),
                                         layout.webhook_cursor(project_id)],
                                   args=[self._cap, timestamp, *fields])
            # A hint for the webhook senders (another slot): fan this project out soon.
            await self._redis.zadd(layout.WEBHOOKS_FAN_OUT, {project_id: self._clock()})

    async def hinted(self, limit: int = 1000) -> list[tuple[str, float]]:
        """Projects with events appended since their last fan-out, with the latest append's time."""
        hints: list[Any] = await self._redis.zrange(layout.WEBHOOKS_FAN_OUT, 0, limit - 1, withscores=True)
        return [(decode(project_id), float(score)) for project_id, score in hints]

    async def settle_hint(self, project_id: str, seen: float) -> None:
        """Drop a project's hint once fanned out, unless an event was appended after ``seen``."""
        await self._settle_hint(keys=[layout.WEBHOOKS_FAN_OUT], args=[project_id, repr(seen)])

    async def read(self, project_id: str, count: int = 1000) -> list[dict[str, Any]]:
        """The project's oldest ``count`` events, decoded."""
        entries = await self._redis.xrange(layout.events(project_id), count=count)
        events = [decode_fields(fields) for _, fields in entries or []]
        return [{**event, EventField.DATA: json.loads(event[EventField.DATA])} for event in events]

    async def after(self, project_id: str, position: str, count: int = 500) -> list[StoredEvent]:
        """Up to ``count`` of the project's events that follow ``position``, oldest first."""
        entries = await self._redis.xrange(layout.events(project_id), min=f"({position}",
                                           count=count)
        return [stored(project_id, entry) for entry in entries or []]

    async def last_position(self, project_id: str) -> str:
        """The position of the project's latest event (``0-0`` for an empty stream)."""
        entries = await self._redis.xrevrange(layout.events(project_id), count=1)
        return decode(entries[0][0]) if entries else START

    async def lost_after(self, project_id: str, position: str) -> bool:
        """Whether events that followed ``position`` may be gone: the stream no longer reaches
        back to it (trimmed past it), or it is ahead of the stream (Redis lost its data)."""
        oldest = await self._redis.xrange(layout.events(project_id), count=1)
        if not oldest:
            return position != START
        newest = await self.last_position(project_id)
        first = decode(oldest[0][0])
        return (position_key(first) > position_key(position) != position_key(START)
                or position_key(position) > position_key(newest))

    async def wait_after(self, positions: dict[str, str], block: float,
                         count: int = 500) -> list[StoredEvent]:
        """The events that follow each project's position, waiting up to ``block`` seconds for
        the first one; positions are ``{project id: position}``."""
        streams: dict[Any, Any] = {layout.events(project_id): position
                                   for project_id, position in positions.items()}
        answer: Any
        if len(streams) > 1 and isinstance(self._redis, RedisCluster):
            answer = await self._poll_each(streams, block, count)
        else:
            answer = await self._redis.xread(streams, count=count, block=max(1, int(block * 1000)))
        projects = {layout.events(project_id): project_id for project_id in positions}
        return [stored(projects[decode(key)], entry)
                for key, entries in answer or [] for entry in entries]

    async def _poll_each(self, streams: dict[Any, Any], block: float, count: int) -> list[Any]:
        """On a cluster, where one read may not span projects (slots): every stream read without
        blocking, in one pipeline, every ``CLUSTER_POLL`` seconds until one has events."""
        deadline = time.monotonic() + block
        while True:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, position in streams.items():
                    pipe.xread({key: position}, count=count)
                answers = await pipe.execute()
            found = [stream for answer in answers for stream in answer or []]
            if found or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(CLUSTER_POLL)


def stored(project_id: str, entry: tuple[Any, Any]) -> StoredEvent:
    """A stream entry ``(position, fields)`` as a ``StoredEvent``."""
    position, raw = entry
    fields = decode_fields(raw)
    return StoredEvent(position=decode(position), project_id=project_id,
                       id=fields[EventField.ID], type=fields[EventField.TYPE],
                       server_id=fields[EventField.SERVER_ID],
                       observed_at=float(fields[EventField.TIMESTAMP]),
                       data=json.loads(fields[EventField.DATA]))
