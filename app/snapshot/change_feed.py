"""Following the snapshot's change channel, so a process answers kept lists with no Redis read
and reads a project's lists again the moment a writer publishes a change to them."""
import asyncio
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from ..store import redis_layout as layout
from ..store.redis_values import decode
from .listing_cache import ListingCache

logger = logging.getLogger(__name__)
UNEXPECTED_PAUSE = 5.0  # seconds before following again after an unexpected failure


class ChannelSilent(RedisError):
    """The change channel stopped answering its pings (a connection dropped without a word)."""


class ChangeFollower:
    """Keeps ``cache`` following the change channel: confirmed while subscribed, lost otherwise.

    A ping goes out every ``heartbeat`` seconds; three without an answer count as a lost channel.
    A connection redis-py silently resubscribes is seen by its new subscription, which makes
    every kept list be read again (changes published in between were missed).
    """

    def __init__(self, redis: Redis, cache: ListingCache, heartbeat: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._redis = redis
        self._cache = cache
        self._heartbeat = heartbeat
        self._monotonic = monotonic

    async def follow(self) -> None:
        """Follow the channel until cancelled, subscribing again after every loss."""
        while True:
            try:
                await self._follow_once()
            except (RedisError, OSError) as error:
                if self._cache.following:
                    logger.warning("lost the snapshot change channel, reading every list from "
                                   "Redis until it is back: %s", error)
                pause = self._heartbeat
            except Exception:  # a bug: the lists are read from Redis meanwhile, which is safe
                logger.exception("following the snapshot change channel failed; trying again")
                pause = UNEXPECTED_PAUSE
            finally:
                self._cache.lose()
            await asyncio.sleep(pause)

    async def _follow_once(self) -> None:
        # Reads block with no timeout of redis-py's own (a ping task watches the channel
        # instead): on Python 3.11 a cancellation that meets a read timeout can be lost.
        if isinstance(self._redis, RedisCluster):
            await self._redis.initialize()  # its pub/sub needs the slots known (idempotent)
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(layout.SNAPSHOT_CHANGES)
            _honour_cancellation()
            heard = [self._monotonic()]
            pinger = asyncio.create_task(self._ping(pubsub, heard))
            try:
                await self._listen(pubsub, heard)
            finally:
                pinger.cancel()

    async def _listen(self, pubsub: PubSub, heard: list[float]) -> None:
        while True:
            message = await pubsub.get_message(timeout=None)
            _honour_cancellation()
            heard[0] = self._monotonic()
            if message is None:
                continue
            if message["type"] == "subscribe":  # the first time, or redis-py reconnected
                if not self._cache.following:
                    logger.info("following the snapshot change channel")
                self._cache.follow()
            elif message["type"] == "message":
                self._cache.changed(decode(message["data"]))

    async def _ping(self, pubsub: PubSub, heard: list[float]) -> None:
        """Ping the channel; when it stays silent or a ping fails, stop trusting it and drop its
        connection, so that the listener reconnects (or fails)."""
        while True:
            await asyncio.sleep(self._heartbeat)
            silent = self._monotonic() - heard[0]
            try:
                if silent > 3 * self._heartbeat:
                    raise ChannelSilent(f"no answer for {silent:.1f} s")
                await pubsub.ping()
            except (RedisError, OSError) as error:
                if self._cache.following:
                    logger.warning("the snapshot change channel failed, reading every list "
                                   "from Redis until it is back: %s", error)
                self._cache.lose()
                heard[0] = self._monotonic()  # the reconnection's own time
                if pubsub.connection is not None:
                    await pubsub.connection.disconnect()


def _honour_cancellation() -> None:
    """Raise the cancellation redis-py swallowed: one that arrives while it (re)connects is lost."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
