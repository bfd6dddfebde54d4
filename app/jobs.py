"""Jobs: durable records of creates and deletes, and the per-project queues that carry them.

A job is a Redis hash written before it is queued; the queue is a Redis stream per project with
one consumer group, so a job survives API and worker restarts. A worker that dies leaves its
entries pending; once they have been idle for the visibility timeout, another worker claims
them. Running jobs heartbeat their entries so they never look idle.
"""
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from . import redis_layout as keys
from .times import iso

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
TERMINAL = (SUCCEEDED, FAILED)
HANDED_BACK_IDLE_MS = 365 * 24 * 3600 * 1000  # idle beyond any visibility timeout


@dataclass(frozen=True)
class Job:
    """A create or delete, as stored."""

    id: str
    project_id: str
    kind: str
    status: str
    server_id: str | None
    attempts: int
    error: str | None
    created_at: float
    updated_at: float
    request: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """Whether the job has succeeded or failed for good."""
        return self.status in TERMINAL

    def public(self) -> dict[str, Any]:
        """The job as ``GET /cloud/jobs/{id}`` shows it."""
        return {"id": self.id, "kind": self.kind, "status": self.status, "server_id": self.server_id,
                "attempts": self.attempts, "error": self.error,
                "created_at": iso(self.created_at), "updated_at": iso(self.updated_at)}


@dataclass(frozen=True)
class QueuedEntry:
    """A job id read from a project's queue, to acknowledge once the job is finished."""

    project_id: str
    entry_id: str
    job_id: str


class JobStore:
    """Job records: written once, updated as they run, kept for the retention period."""

    def __init__(self, redis: Redis, retention: float, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._retention = int(retention)
        self._clock = clock

    def new(self, project_id: str, kind: str, request: dict[str, Any],
            server_id: str | None = None) -> Job:
        """A job not yet stored."""
        now = self._clock()
        return Job(id=uuid.uuid4().hex, project_id=project_id, kind=kind, status=QUEUED,
                   server_id=server_id, attempts=0, error=None, created_at=now, updated_at=now,
                   request=request)

    @staticmethod
    def _encode(name: str, value: Any) -> str:
        if name == "request":
            return json.dumps(value)
        if isinstance(value, float):
            return repr(value)
        return "" if value is None else str(value)

    async def save(self, job: Job) -> None:
        """Write a new job's whole record."""
        fields = {name: self._encode(name, value) for name, value in job.__dict__.items()
                  if name not in ("id", "project_id")}
        await self._write(job, fields)

    async def _write(self, job: Job, fields: dict[str, str]) -> None:
        key = keys.job(job.project_id, job.id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self._retention)
            await pipe.execute()

    async def get(self, project_id: str, job_id: str) -> Job | None:
        """A job of the project, or None (also for another project's job)."""
        stored = await self._redis.hgetall(keys.job(project_id, job_id))
        if not stored:
            return None
        text = {k.decode(): v.decode() for k, v in stored.items()}
        return Job(id=job_id, project_id=project_id, kind=text["kind"], status=text["status"],
                   server_id=text["server_id"] or None, attempts=int(text["attempts"]),
                   error=text["error"] or None, created_at=float(text["created_at"]),
                   updated_at=float(text["updated_at"]), request=json.loads(text["request"]))

    async def update(self, job: Job, **changes: Any) -> Job:
        """Store only the changed fields (and the time of the change), so a stale copy of the
        job never overwrites what another step recorded."""
        changes["updated_at"] = self._clock()
        await self._write(job, {name: self._encode(name, value) for name, value in changes.items()})
        return Job(**{**job.__dict__, **changes})

    async def count_attempt(self, job: Job) -> Job:
        """Record that an attempt starts."""
        return await self.update(job, attempts=job.attempts + 1, status=RUNNING)


class JobQueue:
    """The per-project job streams and the hint of which projects have work."""

    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._clock = clock
        self._grouped: set[str] = set()  # projects whose consumer group this process has made

    async def _ensure_group(self, project_id: str) -> None:
        if project_id in self._grouped:
            return
        try:
            await self._redis.xgroup_create(keys.job_queue(project_id), keys.JOB_GROUP, id="0",
                                            mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._grouped.add(project_id)

    async def submit(self, job: Job, store: JobStore) -> None:
        """Write the job record, then queue it: a queued id always has its record."""
        await store.save(job)
        await self._ensure_group(job.project_id)
        await self._redis.xadd(keys.job_queue(job.project_id), {"job": job.id})
        await self._redis.zadd(keys.JOBS_READY, {job.project_id: self._clock()}, nx=True)

    async def projects_with_work(self, limit: int = 1000) -> list[str]:
        """Projects flagged as having queued jobs, the one served longest ago first."""
        return [p.decode() for p in await self._redis.zrange(keys.JOBS_READY, 0, limit - 1)]

    async def take(self, project_id: str, consumer: str, visibility: float) -> QueuedEntry | None:
        """One job of the project: a new one, else one a dead worker left idle too long."""
        await self._ensure_group(project_id)
        stream = keys.job_queue(project_id)
        read = await self._redis.xreadgroup(keys.JOB_GROUP, consumer, {stream: ">"}, count=1)
        entries = _entries(read)
        if not entries:
            claimed = await self._redis.xautoclaim(stream, keys.JOB_GROUP, consumer,
                                                   min_idle_time=int(visibility * 1000), count=1)
            entries = [(entry_id, fields) for entry_id, fields in claimed[1] if fields]
        if not entries:
            return None
        # Taking a job sends the project to the back of the line: rounds go round-robin.
        await self._redis.zadd(keys.JOBS_READY, {project_id: self._clock()}, xx=True)
        entry_id, fields = entries[0]
        return QueuedEntry(project_id, _text(entry_id), _text(fields[b"job"]))

    async def idle(self, project_id: str) -> bool:
        """True when the project has no queued and no pending entries (acked ones are deleted)."""
        return await self._redis.xlen(keys.job_queue(project_id)) == 0

    async def drop_hint(self, project_id: str) -> None:
        """Forget that the project has work (re-added by the next submit or sweep)."""
        await self._redis.zrem(keys.JOBS_READY, project_id)

    async def flag(self, project_ids: list[str]) -> None:
        """Flag projects as possibly having work (the periodic sweep)."""
        if project_ids:
            await self._redis.zadd(keys.JOBS_READY, dict.fromkeys(project_ids, self._clock()), nx=True)

    async def heartbeat(self, entry: QueuedEntry, consumer: str) -> None:
        """Reset the entry's idle time, so no other worker claims a job that is running."""
        await self._redis.xclaim(keys.job_queue(entry.project_id), keys.JOB_GROUP, consumer,
                                 min_idle_time=0, message_ids=[entry.entry_id], justid=True)

    async def hand_back(self, entry: QueuedEntry) -> None:
        """Make an unfinished entry claimable at once by any worker (this one is stopping)."""
        await self._redis.xclaim(keys.job_queue(entry.project_id), keys.JOB_GROUP, "handed-back",
                                 min_idle_time=0, message_ids=[entry.entry_id],
                                 idle=HANDED_BACK_IDLE_MS, justid=True)

    async def ack(self, entry: QueuedEntry) -> None:
        """The job is finished: remove its entry."""
        stream = keys.job_queue(entry.project_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(stream, keys.JOB_GROUP, entry.entry_id)
            pipe.xdel(stream, entry.entry_id)
            await pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entries(read: Any) -> list[tuple[Any, dict]]:
    """The entries of an XREADGROUP answer: ``[[stream, [(id, fields)]]]`` (or a map by stream)."""
    if not read:
        return []
    batches = read.values() if isinstance(read, dict) else (batch for _, batch in read)
    return [tuple(entry) for batch in batches for entry in batch]
