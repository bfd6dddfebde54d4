"""The marks a server's queued or running job keeps in Redis: the id of its delete job, or the
task state its action shows (and the action's job). One job of each per server; the snapshot
keeps showing the task while its mark stands, until the task is seen done
(``snapshot/pending_tasks.py``, ``jobs/agreement.py``)."""
from dataclasses import dataclass

from redis.asyncio import Redis

from ..store import redis_layout as layout
from ..store.redis_values import decode

# KEYS: the server's action mark. ARGV: the job id. Deleted only while it names that job.
_CLEAR_ACTION = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, -#ARGV[1] - 1) == ' ' .. ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class PendingAction:
    """A server's queued or running action: the task state it shows, and its job."""

    task_state: str
    job_id: str


class ServerMarks:
    """Which servers have a delete or an action under way, for at most the jobs' retention."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._clear_action = redis.register_script(_CLEAR_ACTION)

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

    async def claim_action(self, project_id: str, server_id: str, task_state: str, job_id: str,
                           ttl: float) -> bool:
        """Mark the server as having the action job ``job_id`` that shows ``task_state``; False if
        it has one."""
        return bool(await self._redis.set(layout.acting(project_id, server_id), f"{task_state} {job_id}",
                                          nx=True, ex=int(ttl)))

    async def pending_action(self, project_id: str, server_id: str) -> str | None:
        """The task state of the server's queued or running action, if it has one."""
        pending = await self.action_of(project_id, server_id)
        return pending.task_state if pending else None

    async def action_of(self, project_id: str, server_id: str) -> PendingAction | None:
        """The server's queued or running action (its task state and job), if it has one."""
        value = await self._redis.get(layout.acting(project_id, server_id))
        if value is None:
            return None
        task_state, _, job_id = decode(value).partition(" ")
        return PendingAction(task_state, job_id)

    async def clear_action(self, project_id: str, server_id: str, job_id: str) -> bool:
        """The action job ``job_id`` has ended; its mark goes (not another job's that took the
        server since). Whether it was still there."""
        return bool(await self._clear_action(keys=[layout.acting(project_id, server_id)], args=[job_id]))

