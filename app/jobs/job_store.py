"""Job records: written once before they are queued, updated field by field as they run."""
import json
import time
import uuid
from typing import Any

from redis.asyncio import Redis

from .. import redis_layout as layout
from ..records import LaunchRequest
from ..redis_layout import JobField
from ..times import Clock
from .job import QUEUED, RUNNING, Job

_STORED = {"kind": JobField.KIND, "status": JobField.STATUS, "server_id": JobField.SERVER_ID,
           "attempts": JobField.ATTEMPTS, "error": JobField.ERROR, "request": JobField.REQUEST,
           "created_at": JobField.CREATED_AT, "updated_at": JobField.UPDATED_AT}


def _encode(name: str, value: Any) -> str:
    if name == "request":
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


class JobStore:
    """Job records, kept for the retention period."""

    def __init__(self, redis: Redis, retention: float, clock: Clock = time.time) -> None:
        self._redis = redis
        self._retention = int(retention)
        self._clock = clock

    def new(self, project_id: str, kind: str, request: LaunchRequest | None = None,
            server_id: str | None = None) -> Job:
        """A job not yet stored."""
        now = self._clock()
        return Job(id=uuid.uuid4().hex, project_id=project_id, kind=kind, status=QUEUED,
                   server_id=server_id, attempts=0, error=None, created_at=now, updated_at=now,
                   request=request)

    async def save(self, job: Job) -> None:
        """Write a new job's whole record."""
        await self._write(job, {field: _encode(name, getattr(job, name))
                                for name, field in _STORED.items()}, job.server_id)

    async def _write(self, job: Job, fields: dict[Any, str], server_id: str | None = None) -> None:
        """Write fields of the record; a server id (new or newly known) indexes the job under it."""
        key = layout.job(job.project_id, job.id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self._retention)
            if server_id is not None:
                index = layout.server_jobs(job.project_id, server_id)
                pipe.zadd(index, {job.id: job.created_at})
                pipe.zremrangebyrank(index, 0, -layout.SERVER_JOBS_KEPT - 1)
                pipe.expire(index, self._retention)
            await pipe.execute()

    async def get(self, project_id: str, job_id: str) -> Job | None:
        """A job of the project, or None (also for another project's job)."""
        stored = await self._redis.hgetall(layout.job(project_id, job_id))
        if not stored:
            return None
        text = layout.text_fields(stored)
        return Job(id=job_id, project_id=project_id, kind=text[JobField.KIND],
                   status=text[JobField.STATUS], server_id=text[JobField.SERVER_ID] or None,
                   attempts=int(text[JobField.ATTEMPTS]), error=text[JobField.ERROR] or None,
                   created_at=float(text[JobField.CREATED_AT]),
                   updated_at=float(text[JobField.UPDATED_AT]),
                   request=json.loads(text[JobField.REQUEST]) or None)

    async def update(self, job: Job, **changes: Any) -> Job:
        """Store only the changed fields (and the time of the change), so a stale copy of the
        job never overwrites what another step recorded."""
        changes["updated_at"] = self._clock()
        await self._write(job, {_STORED[name]: _encode(name, value) for name, value in changes.items()},
                          changes.get("server_id"))
        return Job(**{**job.__dict__, **changes})

    async def of_server(self, project_id: str, server_id: str) -> list[Job]:
        """The server's latest jobs (those still kept), newest first."""
        ids = await self._redis.zrevrange(layout.server_jobs(project_id, server_id), 0, -1)
        jobs = [await self.get(project_id, layout.text(job_id)) for job_id in ids]
        return [job for job in jobs if job is not None]

    async def count_attempt(self, job: Job) -> Job:
        """Record that an attempt starts."""
        return await self.update(job, attempts=job.attempts + 1, status=RUNNING)
