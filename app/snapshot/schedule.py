"""The poll schedule shared by every worker: projects by due time, handed out with leases.

A claim moves a due project's time forward by the lease and records the claimant's token; the
claimant reschedules it when done, but only if the claim is still its own. A worker that dies
simply never reschedules: when its lease runs out the project is due again and another worker
claims it. Projects are spread over buckets, each a due set and an owner hash under one hash
tag, so the scripts run on a Cluster and the buckets spread over its shards; a claim visits the
buckets from a rotating start, so no bucket is favoured; one that another worker holds gives only
its overdue projects, so each worker keeps polling the same buckets (see ``Holding``).
"""
import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from ..store import redis_layout as layout
from ..store.redis_scripts import LET_GO, ScriptCall, call_together
from ..store.redis_values import decode

# KEYS: due zset, owner hash, holder. ARGV: now, lease seconds, max projects, claimant prefix,
# worker, hold milliseconds, '1' if the worker may take the bucket when no one holds it, the due
# time before which a project of a bucket another worker holds is overdue. The bucket's holder
# claims every due project (and keeps holding); another worker only the overdue ones. Answers
# whether the worker holds the bucket, then the projects claimed, each with its token.
_CLAIM = """
local holder = redis.call('GET', KEYS[3])
local cutoff = ARGV[1]
if holder == ARGV[5] then
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
elseif not holder and ARGV[7] == '1' then
  redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[6])
  holder = ARGV[5]
else
  cutoff = ARGV[8]
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[3]))
local until_ = tonumber(ARGV[1]) + tonumber(ARGV[2])
local claimed = {holder == ARGV[5] and 1 or 0}
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




@dataclass
class Holding:
    """The schedule buckets a worker polls by preference, so that it keeps polling the same
    projects: a fleet then holds about one token and one catalog per project, not one per worker
    and project. A bucket no one holds is taken by a worker below its share; a bucket held by
    another worker is left to it, but for projects overdue by ``grace`` (its holder is behind, or
    dead until its hold runs out)."""

    worker: str
    hold: float  # seconds a bucket stays held after the holder's latest claim in it
    grace: float
    share: int = layout.SCHEDULE_BUCKETS  # the most buckets it takes: its share of the live workers
    held: set[int] = field(default_factory=set)

    def share_among(self, workers: int) -> None:
        """Take at most an equal share of the buckets among ``workers`` live workers."""
        self.share = math.ceil(layout.SCHEDULE_BUCKETS / max(1, workers))

    def excess(self) -> list[int]:
        """Held buckets beyond the share, to let go of (another worker has joined)."""
        return sorted(self.held)[self.share:]


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
        self._let_go = redis.register_script(LET_GO)
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

    async def claim(self, now: float, lease: float, limit: int,
                    holding: Holding | None = None) -> dict[str, str]:
        """Claim up to ``limit`` due projects for ``lease`` seconds: project -> claim token. With a
        ``holding``, buckets no one holds are taken while below the share, and those other workers
        hold give only their overdue projects; without, every due project may be claimed."""
        prefix = uuid.uuid4().hex
        claimed: dict[str, str] = {}
        start = self._first_bucket
        self._first_bucket = (start + 1) % layout.SCHEDULE_BUCKETS
        # Every bucket in turn from a rotating start (none is starved, whatever is held): those
        # another worker holds give only their overdue projects.
        for bucket in [(start + step) % layout.SCHEDULE_BUCKETS for step in range(layout.SCHEDULE_BUCKETS)]:
            if len(claimed) >= limit:
                break
            holder_args: list[str | int]
            if holding is None:
                holder_args = ["", 0, "0", repr(now)]
            else:
                may_take = len(holding.held) < holding.share
                holder_args = [holding.worker, int(holding.hold * 1000), "1" if may_take else "0",
                               repr(now - holding.grace)]
            flat = await self._claim(keys=[*_keys_of_bucket(bucket), layout.schedule_holder(bucket)],
                                     args=[repr(now), repr(lease), limit - len(claimed), prefix,
                                           *holder_args])
            if holding is not None and flat[0] == 1:
                holding.held.add(bucket)
            elif holding is not None:
                holding.held.discard(bucket)
            claimed.update({decode(flat[i]): decode(flat[i + 1]) for i in range(1, len(flat), 2)})
        return claimed

    async def let_go(self, holding: Holding, buckets: Sequence[int]) -> None:
        """Stop holding buckets (beyond the share, or all when stopping), so other workers take them."""
        for bucket in buckets:
            await self._let_go(keys=[layout.schedule_holder(bucket)], args=[holding.worker])
            holding.held.discard(bucket)

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
    return _keys_of_bucket(layout.schedule_bucket(project_id))


def _keys_of_bucket(bucket: int) -> list[str]:
    return [layout.schedule_due(bucket), layout.schedule_owner(bucket)]


def _by_bucket(project_ids: list[str]) -> dict[int, list[str]]:
    buckets: dict[int, list[str]] = {}
    for project_id in project_ids:
        buckets.setdefault(layout.schedule_bucket(project_id), []).append(project_id)
    return buckets
