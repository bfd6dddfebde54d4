"""Noticing that Redis lost its data: an epoch key that only a data loss removes.

Every process remembers the epoch it saw; when the key is gone (a restart without persistence, a
flush, a failover to an empty replica) the first process to look writes a new one, and every
process notices the change once: it logs it and its caller counts it.
"""
import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from . import redis_layout as layout
from .redis_values import decode

logger = logging.getLogger(__name__)


class RedisEpoch:
    """The epoch of the Redis data this process works with."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._seen: str | None = None

    async def changed(self) -> bool:
        """Whether Redis lost its data since the last look (never on the first look)."""
        stored = await self._redis.get(layout.EPOCH)
        if stored is None:  # a new Redis, or one that lost its data: the first to look writes one
            await self._redis.set(layout.EPOCH, uuid.uuid4().hex, nx=True)
            stored = await self._redis.get(layout.EPOCH)
        current = decode(stored)
        lost = self._seen is not None and current != self._seen
        if lost:
            logger.error("Redis lost its data (epoch %s is now %s): queues, schedules and "
                         "snapshots are being rebuilt; jobs queued before the loss are gone",
                         self._seen, current)
        self._seen = current
        return lost

    async def watch(self, on_loss: Callable[[], Awaitable[None]], stop: asyncio.Event,
                    interval: float = 5.0) -> None:
        """Look every ``interval`` seconds until ``stop`` is set; call ``on_loss`` after each
        loss. A look that fails (Redis unreachable) is retried at the next interval."""
        while not stop.is_set():
            try:
                if await self.changed():
                    await on_loss()
            except Exception as error:
                logger.warning("cannot check the Redis epoch: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
