"""Waiting for the poller in tests."""
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.api.appkeys import SERVICES
from app.store import redis_layout as layout

Value = TypeVar("Value")


async def eventually(check: Callable[[], Awaitable[Value]], timeout: float = 10.0,
                     interval: float = 0.1) -> Value:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        await asyncio.sleep(interval)


async def changed_behind_the_api(client, redis, project_id: str) -> None:
    """A test wrote a project's lists in Redis directly: publish it, as the service's writers do,
    and wait until the API has heard (it answers kept lists without reading Redis until then)."""
    cache = client.app[SERVICES].snapshot.cache
    await redis.publish(layout.SNAPSHOT_CHANGES, project_id)

    async def heard() -> bool:
        return not any(cache.confirmed(project_id, kind) for kind in layout.LIST_KINDS)

    await eventually(heard, timeout=5, interval=0.005)
