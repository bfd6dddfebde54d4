"""Per-token rate limits, kept in Redis so that every API replica draws on the same budget.

Each limit is a GCRA (a token bucket without a refill timer): ``per_minute`` requests a minute
on average, bursts of up to ``per_minute`` at once. The key holds the theoretical arrival time
of the next request and expires when the bucket is full again.
"""
import hashlib
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..core.errors import RateLimited
from ..core.times import Clock
from ..store import redis_layout as layout
from ..store.redis_failures import out_of_memory

logger = logging.getLogger(__name__)
PERIOD_MS = 60_000
# KEYS: the bucket. ARGV: now, milliseconds per request, period (all whole milliseconds, so no
# rounding ever refuses a request in budget). Returns 0 (allowed) or the milliseconds to wait.
_TAKE = """
local now, interval, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local next_tat = tat + interval
if next_tat - period > now then return next_tat - period - now end
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', next_tat - now)
return 0
"""


class RateLimiter:
    """Checks a caller's request against one of its limits (writes, live reads)."""

    def __init__(self, redis: Redis, clock: Clock = time.time) -> None:
        self._take = redis.register_script(_TAKE)
        self._clock = clock

    async def take(self, caller: str, kind: str, per_minute: int) -> None:
        """Count one request; ``RateLimited`` (with the wait) if the caller has none left."""
        digest = hashlib.sha256(caller.encode()).hexdigest()[:32]
        try:
            wait_ms = await self._take(keys=[layout.rate_limit(digest, kind)],
                                       args=[int(self._clock() * 1000),
                                             max(1, PERIOD_MS // per_minute), PERIOD_MS])
        except RedisError as error:
            if not out_of_memory(error):
                raise
            logger.warning("Redis is full: %s not counted against the rate limit", kind)
            return  # a full store refuses the writes themselves; reads go on
        if int(wait_ms) > 0:
            raise RateLimited(f"Too many {kind} for this token: at most {per_minute} a minute.",
                              retry_after=int(wait_ms) / 1000)
