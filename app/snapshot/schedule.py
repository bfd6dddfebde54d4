"""The poll schedule shared by every worker: projects by due time, handed out with leases.

A claim moves a due project's time forward by the lease and records the claimant's token; the
claimant reschedules it when done, but only if the claim is still its own. A worker that dies
simply never reschedules: when its lease runs out the project is due again and another worker
claims it. Projects are spread over buckets, each a due set and an owner hash under one hash
tag, so the scripts run on a Cluster and the buckets spread over its shards; a claim visits the
buckets from a rotating start, so no bucket is favoured.
"""
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from ..store import redis_layout as layout
from ..store.redis_scripts import ScriptCall, call_together
from ..store.redis_values import decode

# KEYS: due zset, owner hash. ARGV: now, lease seconds, max projects, claimant prefix.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local until_ = tonumber(ARGV[1]) + tonumber(ARGV[2])
local claimed = {}
for _, project in ipairs(due) do
  local token = ARGV[4] .. ':' .. project
  redis.call('ZADD', KEYS[1], until_, project)
  redis.call('HSET', KEYS[2], project, token)
  claimed[#claimed + 1] = project
  claimed[#claimed + 1] = token
end
return claimed
"""
# KEYS: due zset, owner hash, polled hash. ARGV: project, token, next due time, the time a
# successful poll ended ('' after a failed one).
_RELEASE = """
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[4]) end
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
"""


# KEYS: due zset, owner hash. ARGV: project, now. A project being polled keeps its lease.
_EXPEDITE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
return redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[2], ARGV[1])
"""


@dataclass(frozen=True)
class Release:
    """A claimed project to reschedule, after the write that records its poll."""

    project_id: str
    token: str
    next_due: float
    write: ScriptCall
    polled_at: float  # when the poll ended (it succeeded)


class PollSchedule:
    """When each project is next due, and who is polling it now."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._expedite = redis.register_script(_EXPEDITE)
        self._first_bucket = random.randrange(layout.SCHEDULE_BUCKETS)

    async def register(self, project_ids: list[str], now: float) -> None:
        """Make projects known (due now); projects already scheduled keep their time."""
        for bucket, projects in _by_bucket(project_ids).items():
            await self._redis.zadd(layout.schedule_due(bucket), dict.fromkeys(projects, now), nx=True)

    async def forget(self, project_ids: list[str]) -> None:
        """Stop polling projects that are no longer configured."""
        for bucket, projects in _by_bucket(project_ids).items():
            await self._redis.zrem(layout.schedule_due(bucket), *projects)
            await self._redis.hdel(layout.schedule_polled(bucket), *projects)

    async def polled_at(self) -> dict[str, float]:
        """When each project's last successful poll ended (one read a bucket, however many)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in range(layout.SCHEDULE_BUCKETS):
                pipe.hgetall(layout.schedule_polled(bucket))
            buckets = await pipe.execute()
        return {decode(project): float(at) for polled in buckets for project, at in polled.items()}

    async def scheduled(self) -> list[str]:
        """Every project on the schedule."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in range(layout.SCHEDULE_BUCKETS):
                pipe.zrange(layout.schedule_due(bucket), 0, -1)
            buckets = await pipe.execute()
        return [decode(p) for projects in buckets for p in projects]

    async def claim(self, now: float, lease: float, limit: int) -> dict[str, str]:
        """Claim up to ``limit`` due projects for ``lease`` seconds: project -> claim token."""
        prefix = uuid.uuid4().hex
        claimed: dict[str, str] = {}
        start = self._first_bucket
        self._first_bucket = (start + 1) % layout.SCHEDULE_BUCKETS
        for step in range(layout.SCHEDULE_BUCKETS):
            if len(claimed) >= limit:
                break
            bucket = (start + step) % layout.SCHEDULE_BUCKETS
            flat = await self._claim(keys=[layout.schedule_due(bucket), layout.schedule_owner(bucket)],
                                     args=[repr(now), repr(lease), limit - len(claimed), prefix])
            claimed.update({decode(flat[i]): decode(flat[i + 1])
                            for i in range(0, len(flat), 2)})
        return claimed

    async def release(self, project_id: str, token: str, next_due: float) -> bool:
        """Reschedule a claimed project; False if the claim was lost (the lease ran out)."""
        return bool(await self._release_call(project_id, token, next_due, None)())

    async def release_after_writes(self, releases: Sequence[Release]) -> list[str]:
        """Send each poll's write, then reschedule its project, all in one round trip; the
        projects whose claims were lost (their writes are made all the same)."""
        calls = [call for release in releases
                 for call in (release.write, self._release_call(release.project_id, release.token,
                                                                release.next_due, release.polled_at))]
        released = (await call_together(self._redis, calls))[1::2]
        return [release.project_id for release, done in zip(releases, released, strict=True) if not done]

    def _release_call(self, project_id: str, token: str, next_due: float,
                      polled_at: float | None) -> ScriptCall:
        bucket = layout.schedule_bucket(project_id)
        return ScriptCall(self._release, [*_keys_of(project_id), layout.schedule_polled(bucket)],
                          [project_id, token, repr(next_due), "" if polled_at is None else repr(polled_at)])

    async def expedite(self, project_id: str, now: float) -> bool:
        """Make a scheduled project due now, unless a worker is polling it."""
        return bool(await self._expedite(keys=_keys_of(project_id), args=[project_id, repr(now)]))

    async def next_due(self) -> float | None:
        """The earliest due time on the schedule."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in range(layout.SCHEDULE_BUCKETS):
                pipe.zrange(layout.schedule_due(bucket), 0, 0, withscores=True)
            firsts = await pipe.execute()
        times = [float(first[0][1]) for first in firsts if first]
        return min(times) if times else None


def _keys_of(project_id: str) -> list[str]:
    bucket = layout.schedule_bucket(project_id)
    return [layout.schedule_due(bucket), layout.schedule_owner(bucket)]


def _by_bucket(project_ids: list[str]) -> dict[int, list[str]]:
    buckets: dict[int, list[str]] = {}
    for project_id in project_ids:
        buckets.setdefault(layout.schedule_bucket(project_id), []).append(project_id)
    return buckets
