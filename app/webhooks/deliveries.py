"""Deliveries: each event for each subscription, queued durably in Redis until a 2xx or the
last attempt, with every attempt in the subscription's delivery log.

A subscription's deliveries run in lanes, one per server: a lane's events go out one after the
other, in the order they happened, while the lanes of other servers go on. The ``due`` set holds
each lane scored by when its head is due; claiming a head pushes that score past a lease, so a
worker that dies mid-delivery hands it on: it is sent again, with the same event id.
"""
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from ..core.times import Clock, iso
from ..events.stream import StoredEvent
from ..store import redis_layout as layout
from ..store.redis_layout import AttemptField, DeliveryField, WebhookField
from ..store.redis_values import decode, decode_fields

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
_RETRY = "retry"
_NO_LANE = "project"  # the lane of events about no one server

# KEYS: the cursor, then per delivery: its subscription, lanes, due, record, lane.
# ARGV: the cursor expected ('' = no check), the new cursor ('' = none), now, retention, then per
# delivery: id, subscription id, event id, type, lane, body, observed at. -1 if the cursor moved.
_ENQUEUE = f"""
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local added, k = 0, 2
for i = 5, #ARGV, 7 do
  local sub, lanes, due, record, lane = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  k = k + 5
  if redis.call('EXISTS', sub) == 1 and redis.call('EXISTS', record) == 0 then
    redis.call('HSET', record, '{DeliveryField.SUBSCRIPTION}', ARGV[i + 1],
               '{DeliveryField.EVENT_ID}', ARGV[i + 2], '{DeliveryField.TYPE}', ARGV[i + 3],
               '{DeliveryField.LANE}', ARGV[i + 4], '{DeliveryField.BODY}', ARGV[i + 5],
               '{DeliveryField.OBSERVED_AT}', ARGV[i + 6], '{DeliveryField.STATUS}', '{PENDING}',
               '{DeliveryField.ATTEMPTS}', 0, '{DeliveryField.NEXT_AT}', ARGV[3])
    redis.call('EXPIRE', record, ARGV[4])
    if redis.call('RPUSH', lane, ARGV[i]) == 1 then redis.call('ZADD', due, ARGV[3], ARGV[i + 4]) end
    redis.call('SADD', lanes, ARGV[i + 4])
    redis.call('HINCRBY', sub, '{WebhookField.PENDING}', 1)
    added = added + 1
  end
end
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2]) end
return added
"""
# KEYS: due, lanes, the subscription. ARGV: now, lease, count, lane key prefix, record key prefix.
# Each due lane's head (heads whose record expired are dropped) is leased and returned, after
# when the subscription's first lane is due now ('' if none is left).
_CLAIM = f"""
local claimed = {{}}
for _, lane in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  local lane_key = ARGV[4] .. lane
  local head = redis.call('LINDEX', lane_key, 0)
  while head and redis.call('EXISTS', ARGV[5] .. head) == 0 do
    redis.call('LPOP', lane_key)
    if redis.call('EXISTS', KEYS[3]) == 1 then
      redis.call('HINCRBY', KEYS[3], '{WebhookField.PENDING}', -1)
    end
    head = redis.call('LINDEX', lane_key, 0)
  end
  if head then
    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), lane)
    table.insert(claimed, head)
  else
    redis.call('ZREM', KEYS[1], lane)
    redis.call('SREM', KEYS[2], lane)
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
table.insert(claimed, 1, first[2] or '')
return claimed
"""
# KEYS: the subscription, lanes, due, record, lane, attempts log. ARGV: delivery id, attempts
# before this one, now, outcome (retry, delivered, failed), next due, retention, lane, log cap,
# then the log entry's field, value pairs. 0 if another worker has finished the attempt, or the
# subscription is gone (then the delivery is only let expire); else when the subscription's
# first lane is due now ('' if none is left).
_FINISH = f"""
if redis.call('HGET', KEYS[4], '{DeliveryField.STATUS}') ~= '{PENDING}'
   or redis.call('HGET', KEYS[4], '{DeliveryField.ATTEMPTS}') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[4], '{DeliveryField.ATTEMPTS}', tonumber(ARGV[2]) + 1)
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[4], '{DeliveryField.STATUS}', '{FAILED}')
  redis.call('EXPIRE', KEYS[4], ARGV[6])
  return 0
end
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', unpack(ARGV, 9))
if ARGV[4] == '{_RETRY}' then
  redis.call('HSET', KEYS[4], '{DeliveryField.NEXT_AT}', ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[7])
  return redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2]
end
redis.call('HSET', KEYS[4], '{DeliveryField.STATUS}', ARGV[4])
redis.call('EXPIRE', KEYS[4], ARGV[6])
redis.call('LREM', KEYS[5], 1, ARGV[1])
redis.call('HINCRBY', KEYS[1], '{WebhookField.PENDING}', -1)
if redis.call('LLEN', KEYS[5]) > 0 then
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[7])
else
  redis.call('ZREM', KEYS[3], ARGV[7])
  redis.call('SREM', KEYS[2], ARGV[7])
end
return redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2] or ''
"""


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one subscription."""

    id: str
    project_id: str
    subscription_id: str
    event_id: str
    type: str
    lane: str
    body: bytes
    observed_at: float
    status: str = PENDING
    attempts: int = 0

    @classmethod
    def of_event(cls, subscription_id: str, event: StoredEvent) -> "Delivery":
        """The delivery of a stream event to a subscription; its id is the same each time."""
        return cls(id=uuid.uuid5(uuid.UUID(subscription_id), event.id).hex,
                   project_id=event.project_id, subscription_id=subscription_id, event_id=event.id,
                   type=event.type, lane=event.server_id or _NO_LANE,
                   body=json.dumps(event.payload(), separators=(",", ":")).encode(),
                   observed_at=event.observed_at)

    def again(self) -> "Delivery":
        """A new delivery of the same event (same event id and body), from its first attempt."""
        return Delivery(id=uuid.uuid4().hex, project_id=self.project_id,
                        subscription_id=self.subscription_id, event_id=self.event_id, type=self.type,
                        lane=self.lane, body=self.body, observed_at=self.observed_at)


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt came to: an HTTP status, or the error that kept it from getting one."""

    attempted_at: float
    duration: float
    status_code: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        """A 2xx: the event counts as delivered."""
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_at(schedule: tuple[float, ...], attempts: int, now: float) -> float | None:
    """When attempt ``attempts + 1`` is due after ``attempts`` failed ones (None: no more)."""
    return now + schedule[attempts] if attempts < len(schedule) else None


class DeliveryStore:
    """The deliveries, their lanes and the delivery logs, in Redis."""

    def __init__(self, redis: Redis, retention: float, clock: Clock = time.time) -> None:
        self._redis = redis
        self._retention = int(retention)
        self._clock = clock
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._finish = redis.register_script(_FINISH)

    async def cursor(self, project_id: str) -> str | None:
        """The position of the last event fanned out to the project's subscriptions."""
        value = await self._redis.get(layout.webhook_cursor(project_id))
        return None if value is None else decode(value)

    async def start_cursor(self, project_id: str, position: str) -> None:
        """Fan out from ``position`` on, unless a cursor is kept already."""
        await self._redis.set(layout.webhook_cursor(project_id), position, nx=True)

    async def enqueue(self, project_id: str, deliveries: list[Delivery],
                      cursor: tuple[str, str] | None = None, client: Redis | None = None) -> bool:
        """Queue the deliveries not queued yet (and, with ``cursor`` = (expected, new), move the
        fan-out cursor), on ``client`` if given (a pinned connection); False if the cursor had
        moved (another worker fanned out first)."""
        keys = [layout.webhook_cursor(project_id)]
        args: list[Any] = [*(cursor or ("", "")), repr(self._clock()), self._retention]
        for delivery in deliveries:
            keys += [layout.webhook(project_id, delivery.subscription_id),
                     layout.webhook_lanes(project_id, delivery.subscription_id),
                     layout.webhook_due(project_id, delivery.subscription_id),
                     layout.delivery(project_id, delivery.id),
                     layout.webhook_lane(project_id, delivery.subscription_id, delivery.lane)]
            args += [delivery.id, delivery.subscription_id, delivery.event_id, delivery.type,
                     delivery.lane, delivery.body, repr(delivery.observed_at)]
        moved = int(await self._enqueue(keys=keys, args=args, client=client)) >= 0
        subscriptions = {delivery.subscription_id for delivery in deliveries}
        if subscriptions:  # due now, unless due sooner (LT); after the script: another slot
            await (client or self._redis).zadd(
                layout.WEBHOOKS_DUE, {_member(project_id, s): self._clock() for s in subscriptions}, lt=True)
        return moved

    async def claim(self, project_id: str, subscription_id: str, count: int,
                    lease: float) -> list[Delivery]:
        """Up to ``count`` deliveries due now, one per lane, leased for ``lease`` seconds."""
        next_due, *ids = await self._claim(
            keys=[layout.webhook_due(project_id, subscription_id),
                  layout.webhook_lanes(project_id, subscription_id),
                  layout.webhook(project_id, subscription_id)],
            args=[repr(self._clock()), lease, count,
                  layout.webhook_lane(project_id, subscription_id, ""), layout.delivery(project_id, "")])
        await self._index(project_id, subscription_id, next_due)
        found = [await self.get(project_id, decode(delivery_id)) for delivery_id in ids]
        return [delivery for delivery in found if delivery is not None]

    async def get(self, project_id: str, delivery_id: str) -> Delivery | None:
        """One delivery, while it is kept."""
        stored = decode_fields(await self._redis.hgetall(layout.delivery(project_id, delivery_id)))
        if not stored:
            return None
        return Delivery(id=delivery_id, project_id=project_id,
                        subscription_id=stored[DeliveryField.SUBSCRIPTION],
                        event_id=stored[DeliveryField.EVENT_ID], type=stored[DeliveryField.TYPE],
                        lane=stored[DeliveryField.LANE], body=stored[DeliveryField.BODY].encode(),
                        observed_at=float(stored[DeliveryField.OBSERVED_AT]),
                        status=stored[DeliveryField.STATUS],
                        attempts=int(stored[DeliveryField.ATTEMPTS]))

    async def finish(self, delivery: Delivery, result: AttemptResult,
                     retry: float | None) -> bool:
        """Log the attempt; then the delivery is done (a 2xx), due again at ``retry``, or failed
        for good. False if another worker finished this attempt first."""
        outcome = DELIVERED if result.delivered else _RETRY if retry is not None else FAILED
        entry: dict[str, str | int] = {
                 AttemptField.DELIVERY: delivery.id, AttemptField.EVENT_ID: delivery.event_id,
                 AttemptField.TYPE: delivery.type, AttemptField.AT: repr(result.attempted_at),
                 AttemptField.ATTEMPT: delivery.attempts + 1,
                 AttemptField.STATUS_CODE: "" if result.status_code is None else result.status_code,
                 AttemptField.ERROR: result.error or "",
                 AttemptField.DURATION_MS: round(result.duration * 1000)}
        project_id, subscription_id = delivery.project_id, delivery.subscription_id
        finished = await self._finish(
            keys=[layout.webhook(project_id, subscription_id),
                  layout.webhook_lanes(project_id, subscription_id),
                  layout.webhook_due(project_id, subscription_id),
                  layout.delivery(project_id, delivery.id),
                  layout.webhook_lane(project_id, subscription_id, delivery.lane),
                  layout.webhook_attempts(project_id, subscription_id)],
            args=[delivery.id, delivery.attempts, repr(self._clock()), outcome,
                  repr(retry or 0.0), self._retention, delivery.lane, layout.ATTEMPTS_MAX_LENGTH,
                  *[value for pair in entry.items() for value in pair]])
        if isinstance(finished, int):  # 0: another worker's, or the subscription is gone
            return False
        await self._index(project_id, subscription_id, finished)
        return True

    async def _index(self, project_id: str, subscription_id: str, next_due: bytes | str) -> None:
        """Put the subscription in the due index at ``next_due`` (as a script found it), or take
        it out when nothing is left to send; then hold that against its lanes: a claim or finish
        of the same subscription running at once may have changed them since its script, so its
        view, written last, would keep a retry waiting for the sweep."""
        member = _member(project_id, subscription_id)
        written = None if next_due in (b"", "") else float(next_due)
        if written is None:
            await self._redis.zrem(layout.WEBHOOKS_DUE, member)
        else:
            await self._redis.zadd(layout.WEBHOOKS_DUE, {member: written})
        first = await self._redis.zrange(layout.webhook_due(project_id, subscription_id), 0, 0,
                                         withscores=True)
        if (float(first[0][1]) if first else None) != written:
            await self.reindex(project_id, [subscription_id])

    async def due(self, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` subscriptions with a lane due now, as (project, subscription), the
        longest due first: what a sender claims from, whatever the number of subscriptions."""
        members = await self._redis.zrangebyscore(layout.WEBHOOKS_DUE, "-inf", repr(self._clock()),
                                                  start=0, num=limit)
        return [_parts(decode(member)) for member in members]

    async def reindex(self, project_id: str, subscription_ids: list[str]) -> None:
        """Set the subscriptions' places in the due index from their lanes (a sweep's repair of a
        hint lost with a process that died between a script and the index's update)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for subscription_id in subscription_ids:
                pipe.zrange(layout.webhook_due(project_id, subscription_id), 0, 0, withscores=True)
            firsts = await pipe.execute()
        lanes = list(zip(subscription_ids, firsts, strict=True))
        due = {_member(project_id, s): first[0][1] for s, first in lanes if first}
        idle = [_member(project_id, s) for s, first in lanes if not first]
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip, not one each
            if due:
                pipe.zadd(layout.WEBHOOKS_DUE, due)
            if idle:
                pipe.zrem(layout.WEBHOOKS_DUE, *idle)
            await pipe.execute()

    async def forget(self, project_id: str, subscription_id: str) -> None:
        """Take a subscription out of the due index (it is gone, or disabled)."""
        await self._redis.zrem(layout.WEBHOOKS_DUE, _member(project_id, subscription_id))

    async def attempts(self, project_id: str, subscription_id: str, limit: int,
                       before: str | None = None) -> list[dict[str, Any]]:
        """The subscription's latest attempts, newest first, older than ``before`` if given."""
        entries = await self._redis.xrevrange(layout.webhook_attempts(project_id, subscription_id),
                                              max=f"({before}" if before else "+", count=limit)
        return [_attempt(decode(position), decode_fields(fields))
                for position, fields in entries or []]


def _member(project_id: str, subscription_id: str) -> str:
    return f"{project_id}/{subscription_id}"


def _parts(member: str) -> tuple[str, str]:
    project_id, _, subscription_id = member.partition("/")
    return project_id, subscription_id


def _attempt(position: str, stored: dict[str, str]) -> dict[str, Any]:
    return {"id": position, "delivery_id": stored[AttemptField.DELIVERY],
            "event_id": stored[AttemptField.EVENT_ID], "event_type": stored[AttemptField.TYPE],
            "attempted_at": iso(float(stored[AttemptField.AT])),
            "attempt": int(stored[AttemptField.ATTEMPT]),
            "status_code": int(stored[AttemptField.STATUS_CODE] or 0) or None,
            "error": stored[AttemptField.ERROR] or None,
            "duration_ms": int(stored[AttemptField.DURATION_MS])}
