"""The marks a server's queued or running job keeps in Redis: the id of its delete job, or the
task state its action shows. One job of each per server; the snapshot keeps showing the task
while its mark stands and Nova has not begun it (``snapshot/pending_tasks.py``)."""
from redis.asyncio import Redis

from ..store import redis_layout as layout
from ..store.redis_values import decode


class ServerMarks:
    """Which servers have a delete or an action under way, for at most the jobs' retention."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def claim_delete(self, project_id: str, server_id: str, job_id: str,
                           ttl: float) -> str | None:
        """Mark the server as having the delete job ``job_id``; if one is already pending, its id."""
        key = layout.deleting(project_id, server_id)
        while True:
            if await self._redis.set(key, job_id, nx=True, ex=int(ttl)):
                return None
            pending = await self._redis.get(key)
            if pending is not None:  # else it ended in between: try again
                return decode(pending)

    async def delete_pending(self, project_id: str, server_id: str) -> bool:
        """Whether a delete job for the server is queued or running."""
        return bool(await self._redis.exists(layout.deleting(project_id, server_id)))

    async def clear_delete(self, project_id: str, server_id: str) -> None:
        """The server's delete job has ended (removed or failed)."""
        await self._redis.delete(layout.deleting(project_id, server_id))

    async def claim_action(self, project_id: str, server_id: str, task_state: str,
                           ttl: float) -> bool:
        """Mark the server as having an action job that shows ``task_state``; False if it has one."""
        return bool(await self._redis.set(layout.acting(project_id, server_id), task_state,
                                          nx=True, ex=int(ttl)))

    async def pending_action(self, project_id: str, server_id: str) -> str | None:
        """The task state of the server's queued or running action, if it has one."""
        value = await self._redis.get(layout.acting(project_id, server_id))
        return decode(value) if value is not None else None

    async def clear_action(self, project_id: str, server_id: str) -> None:
        """The server's action job has ended."""
        await self._redis.delete(layout.acting(project_id, server_id))
