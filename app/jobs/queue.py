"""The per-project job queues: a Redis stream each, with one consumer group.

A job survives API and worker restarts. A worker that dies leaves its entries pending; once they
have been idle for the visibility timeout, another worker claims them. Running jobs heartbeat
their entries so they never look idle.
"""
import collections
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ..core.times import Clock
from ..store import redis_layout as layout
from ..store.redis_layout import JOB_GROUP, QueueField
from ..store.redis_values import decode
from ..store.replication import ReplicatedWrites
from .idempotency import KeyClaim
from .job import Job
from .job_store import JobStore

HANDED_BACK_IDLE_MS = 365 * 24 * 3600 * 1000  # idle beyond any visibility timeout


@dataclass(frozen=True)
class QueuedEntry:
    """A job id read from a project's queue, to acknowledge once the job is finished."""

    project_id: str
    entry_id: str
    job_id: str


class JobQueue:
    """The per-project job streams and the hint of which projects have work."""

    def __init__(self, redis: Redis, jobs: JobStore, clock: Clock = time.time,
                 replicated: ReplicatedWrites | None = None) -> None:
        self._redis = redis
        self._jobs = jobs
        self._replicated = replicated or ReplicatedWrites(redis, wait_ms=0)
        self._clock = clock
        self._grouped: set[str] = set()  # projects whose consumer group this process has made

    def forget_groups(self) -> None:
        """Make the next use of each queue create its consumer group again (Redis lost its data)."""
        self._grouped.clear()

    async def _ensure_group(self, project_id: str) -> None:
        if project_id in self._grouped:
            return
        try:
            await self._redis.xgroup_create(layout.job_queue(project_id), JOB_GROUP, id="0",
                                            mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._grouped.add(project_id)

    async def submit(self, job: Job, claim: KeyClaim | None = None) -> bool:
        """The one way to submit a job: its record, its queue entry and ``claim``'s
        Idempotency-Key, written in one step; False (nothing written) if that key was claimed
        before."""
        await self._ensure_group(job.project_id)
        async with self._replicated.pinned() as redis:  # the 202 promises it: on a replica first
            if not await self._jobs.write_queued(job, layout.job_queue(job.project_id), claim, redis):
                return False
            await redis.zadd(layout.JOBS_READY, {job.project_id: self._clock()}, nx=True)
        return True

    async def projects_with_work(self, limit: int = 1000) -> list[str]:
        """Projects flagged as having queued jobs, the one served longest ago first."""
        return [decode(p) for p in await self._redis.zrange(layout.JOBS_READY, 0, limit - 1)]

    async def take(self, project_id: str, consumer: str, visibility: float) -> QueuedEntry | None:
        """One job of the project: a new one, else one a dead worker left idle too long."""
        await self._ensure_group(project_id)
        stream = layout.job_queue(project_id)
        try:
            read = await self._redis.xreadgroup(JOB_GROUP, consumer, {stream: ">"}, count=1)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self._grouped.discard(project_id)  # the stream and its group are gone: made anew
            await self._ensure_group(project_id)
            read = await self._redis.xreadgroup(JOB_GROUP, consumer, {stream: ">"}, count=1)
        entries = _entries(read)
        if not entries:
            claimed = await self._redis.xautoclaim(stream, JOB_GROUP, consumer,
                                                   min_idle_time=int(visibility * 1000), count=1)
            entries = [(entry_id, fields) for entry_id, fields in claimed[1] if fields]
        if not entries:
            return None
        # Taking a job sends the project to the back of the line: rounds go round-robin.
        await self._redis.zadd(layout.JOBS_READY, {project_id: self._clock()}, xx=True)
        entry_id, fields = entries[0]
        return QueuedEntry(project_id, decode(entry_id), decode(fields[QueueField.JOB.encode()]))

    async def sweep(self, project_ids: list[str]) -> dict[str, int]:
        """Flag the projects whose queues hold jobs as having work (should a hint have been lost);
        how many jobs wait or run, by kind. One read of every queue, one write."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for project_id in project_ids:
                pipe.xrange(layout.job_queue(project_id))
            queues = await pipe.execute()
        busy = [project_id for project_id, entries in zip(project_ids, queues, strict=True) if entries]
        if busy:
            await self._redis.zadd(layout.JOBS_READY, dict.fromkeys(busy, self._clock()), nx=True)
        kinds = [decode(fields.get(QueueField.KIND.encode(), b"unknown"))
                 for entries in queues for _, fields in entries or []]
        return dict(collections.Counter(kinds))

    async def drop_hint_if_idle(self, project_id: str) -> None:
        """Forget that the project has work if its queue holds no entry, queued or pending (acked
        ones are deleted). The hint goes first and comes back if an entry is there: a job
        submitted meanwhile adds its hint after its entry, so neither order loses it."""
        await self._redis.zrem(layout.JOBS_READY, project_id)
        if await self._redis.xlen(layout.job_queue(project_id)):
            await self._redis.zadd(layout.JOBS_READY, {project_id: self._clock()}, nx=True)

    async def heartbeat(self, entry: QueuedEntry, consumer: str) -> None:
        """Reset the entry's idle time, so no other worker claims a job that is running."""
        with _gone_with_its_group():
            await self._redis.xclaim(layout.job_queue(entry.project_id), JOB_GROUP, consumer,
                                     min_idle_time=0, message_ids=[entry.entry_id], justid=True)

    async def hand_back(self, entry: QueuedEntry) -> None:
        """Make an unfinished entry claimable at once by any worker (this one is stopping)."""
        with _gone_with_its_group():
            await self._redis.xclaim(layout.job_queue(entry.project_id), JOB_GROUP, "handed-back",
                                     min_idle_time=0, message_ids=[entry.entry_id],
                                     idle=HANDED_BACK_IDLE_MS, justid=True)

    async def ack(self, entry: QueuedEntry) -> None:
        """The job is finished: remove its entry."""
        stream = layout.job_queue(entry.project_id)
        with _gone_with_its_group():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(stream, JOB_GROUP, entry.entry_id)
                pipe.xdel(stream, entry.entry_id)
                await pipe.execute()


@contextlib.contextmanager
def _gone_with_its_group() -> Iterator[None]:
    """An entry whose group vanished (Redis lost its data) went with it: nothing left to do."""
    try:
        yield
    except ResponseError as error:
        if "NOGROUP" not in str(error):
            raise


def _entries(read: Any) -> list[tuple[Any, dict[bytes, bytes]]]:
    """The entries of an XREADGROUP answer: ``[[stream, [(id, fields)]]]`` (or a map by stream)."""
    if not read:
        return []
    batches = read.values() if isinstance(read, dict) else (batch for _, batch in read)
    return [(entry[0], entry[1]) for batch in batches for entry in batch]
