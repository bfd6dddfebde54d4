"""Which worker processes are alive: each records a heartbeat in Redis every few seconds."""
import time

from redis.asyncio import Redis

from ..core.times import Clock
from ..store import redis_layout as layout

HEARTBEAT_INTERVAL = 5.0
ALIVE_WITHIN = 30.0  # a worker silent for longer counts as gone


class Heartbeats:
    """The workers' heartbeats, in one sorted set scored by the time of each one's latest."""

    def __init__(self, redis: Redis, clock: Clock = time.time) -> None:
        self._redis = redis
        self._clock = clock

    async def beat(self, worker: str) -> None:
        """``worker`` is alive now; heartbeats older than ``ALIVE_WITHIN`` are dropped."""
        now = self._clock()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(layout.WORKER_HEARTBEATS, {worker: now})
            pipe.zremrangebyscore(layout.WORKER_HEARTBEATS, "-inf", now - ALIVE_WITHIN)
            await pipe.execute()

    async def forget(self, worker: str) -> None:
        """``worker`` stopped cleanly."""
        await self._redis.zrem(layout.WORKER_HEARTBEATS, worker)

    async def alive(self) -> int:
        """How many workers have beaten within ``ALIVE_WITHIN`` seconds."""
        return int(await self._redis.zcount(layout.WORKER_HEARTBEATS, self._clock() - ALIVE_WITHIN, "+inf"))
