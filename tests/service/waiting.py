"""Waiting in service tests for the API to hear of a change made behind its back."""
from typing import TypeVar

from app.api.appkeys import SERVICES
from app.store import redis_layout as layout
from tests.support import eventually

Value = TypeVar("Value")


async def changed_behind_the_api(client, redis, project_id: str) -> None:
    """A test wrote a project's lists in Redis directly: publish it, as the service's writers do,
    and wait until the API has heard (it answers kept lists without reading Redis until then)."""
    cache = client.app[SERVICES].snapshot.cache
    await redis.publish(layout.SNAPSHOT_CHANGES, project_id)

    async def heard() -> bool:
        return not any(cache.confirmed(project_id, kind) for kind in layout.LIST_KINDS)

    await eventually(heard, timeout=5, interval=0.005)
