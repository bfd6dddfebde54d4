"""Writes that an answer promises, made durable on a replica before the answer: ``WAIT 1``.

Replication is asynchronous, so a failover right after a ``202`` could lose the job it promised.
``WAIT`` counts the writes of the connection it is sent on, so an acknowledged write runs on one
connection of its own (a pinned client) and ``WAIT`` follows on that connection. While the master
has no replica connected (just after a failover, or a single Redis), nothing can be waited for:
the write goes on and is counted. A Redis Cluster's writes are not waited for (one shard each).
"""
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from redis.asyncio import Redis, RedisCluster

from ..core.errors import NotReplicated


class ReplicatedWrites:
    """Runs a block's writes on one connection and waits for a replica to hold them."""

    def __init__(self, redis: Redis, wait_ms: int, unreplicated: Callable[[], None] = lambda: None) -> None:
        self._redis = redis
        self._wait_ms = wait_ms
        self._unreplicated = unreplicated  # counts a write made with no replica to wait for

    def count_unreplicated(self, counter: Callable[[], None]) -> None:
        """Call ``counter()`` for each acknowledged write made while no replica was connected."""
        self._unreplicated = counter

    @asynccontextmanager
    async def pinned(self) -> AsyncIterator[Redis]:
        """A client on one connection for the block's writes; when the block ends, they have
        reached a replica, or ``NotReplicated`` is raised (or, with no replica, they are counted)."""
        if self._wait_ms <= 0 or isinstance(self._redis, RedisCluster):
            yield self._redis
            return
        async with self._redis.client() as pinned:
            yield pinned
            await self._confirm(pinned)

    async def _confirm(self, pinned: Redis) -> None:
        role = await pinned.execute_command("ROLE")  # type: ignore[no-untyped-call]  # [b"master", offset, [replicas]]
        if not role[2]:
            self._unreplicated()
            return
        if await pinned.wait(1, self._wait_ms) < 1:
            raise NotReplicated(f"No Redis replica acknowledged the write within {self._wait_ms} ms; "
                                "it was not acknowledged. Retry with the same Idempotency-Key.")
