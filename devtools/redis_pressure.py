"""Filling a Redis to ``maxmemory``, as ``make chaos`` and the tests do to try a full store."""
import redis.asyncio as aioredis
from redis.exceptions import OutOfMemoryError, ResponseError

HEADROOM = 4 * 1024 * 1024


async def cap_below_use(redis: aioredis.Redis) -> int:
    """Make Redis full, deterministically: ``noeviction`` and ``maxmemory`` at half its use, so
    that no key expiring or stream trimmed meanwhile makes room; checked with a write that must
    be refused. The ``maxmemory`` it had, to put back."""
    before = int((await redis.config_get("maxmemory"))["maxmemory"])
    used = (await redis.info("memory"))["used_memory"]
    await redis.config_set("maxmemory-policy", "noeviction")
    await redis.config_set("maxmemory", max(1024 * 1024, used // 2))
    try:
        await redis.set("full-probe", b"x")
    except OutOfMemoryError:
        return before
    raise RuntimeError(f"Redis accepted a write with maxmemory below its use ({used} bytes)")


async def fill_to_maxmemory(redis: aioredis.Redis) -> int:
    """Cap the server a little above its use under ``noeviction`` and fill it until writes are
    refused; the number of ``filler:<n>`` keys written (delete them to make room again)."""
    used = (await redis.info("memory"))["used_memory"]
    await redis.config_set("maxmemory-policy", "noeviction")
    await redis.config_set("maxmemory", used + HEADROOM)
    filler, refused = 0, 0
    while refused < 20:  # small values once refused, so no headroom is left for anyone's writes
        try:
            await redis.set(f"filler:{filler}", b"x" * (65536 if refused == 0 else 256))
            filler += 1
        except ResponseError:
            refused += 1
    return filler
