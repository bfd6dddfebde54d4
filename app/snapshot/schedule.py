"""The poll schedule shared by every worker: projects by due time, handed out with leases.

A claim moves a due project's time forward by the lease and records the claimant's token; the
claimant reschedules it when done, but only if the claim is still its own. A worker that dies
simply never reschedules: when its lease runs out the project is due again and another worker
claims it. Both keys share the ``{schedule}`` hash tag, so the scripts also run on a Cluster.
"""
import uuid

from redis.asyncio import Redis

from .. import redis_layout as layout

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
# KEYS: due zset, owner hash. ARGV: project, token, next due time.
_RELEASE = """
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


class PollSchedule:
    """When each project is next due, and who is polling it now."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._expedite = redis.register_script(_EXPEDITE)

    async def register(self, project_ids: list[str], now: float) -> None:
        """Make projects known (due now); projects already scheduled keep their time."""
        if project_ids:
            await self._redis.zadd(layout.SCHEDULE_DUE, dict.fromkeys(project_ids, now), nx=True)

    async def forget(self, project_ids: list[str]) -> None:
        """Stop polling projects that are no longer configured."""
        if project_ids:
            await self._redis.zrem(layout.SCHEDULE_DUE, *project_ids)

    async def scheduled(self) -> list[str]:
        """Every project on the schedule."""
        return [layout.text(p) for p in await self._redis.zrange(layout.SCHEDULE_DUE, 0, -1)]

    async def claim(self, now: float, lease: float, limit: int) -> dict[str, str]:
        """Claim up to ``limit`` due projects for ``lease`` seconds: project -> claim token."""
        prefix = uuid.uuid4().hex
        flat = await self._claim(keys=[layout.SCHEDULE_DUE, layout.SCHEDULE_OWNER],
                                 args=[repr(now), repr(lease), limit, prefix])
        return {layout.text(flat[i]): layout.text(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def release(self, project_id: str, token: str, next_due: float) -> bool:
        """Reschedule a claimed project; False if the claim was lost (the lease ran out)."""
        released = await self._release(keys=[layout.SCHEDULE_DUE, layout.SCHEDULE_OWNER],
                                        args=[project_id, token, repr(next_due)])
        return bool(released)

    async def expedite(self, project_id: str, now: float) -> bool:
        """Make a scheduled project due now, unless a worker is polling it."""
        return bool(await self._expedite(keys=[layout.SCHEDULE_DUE, layout.SCHEDULE_OWNER],
                                         args=[project_id, repr(now)]))

    async def next_due(self) -> float | None:
        """The earliest due time on the schedule."""
        first = await self._redis.zrange(layout.SCHEDULE_DUE, 0, 0, withscores=True)
        return float(first[0][1]) if first else None
