"""Job records: written once before they are queued, updated field by field as they run."""
import json
import time
import uuid
from typing import Any

from redis.asyncio import Redis

from ..core.records import ActionRequest, LaunchRequest, VolumeRequest
from ..core.times import Clock
from ..store import redis_layout as layout
from ..store.redis_layout import JobField, QueueField
from ..store.redis_values import decode, decode_fields
from .idempotency import KeyClaim
from .job import FAILED, QUEUED, RUNNING, SUCCEEDED, Job

# One step, so that nothing is ever half-written (also when Redis is out of memory: a script's
# first write is refused, or all of them are done).
# KEYS: the job; its server's job index, the queue to put it in, the Idempotency-Key to claim
# first (the job's own key for none). ARGV: ttl, kept index entries, 'new' or 'existing' (an
# update of a record Redis lost is dropped), the job id, its creation time, the key's value and
# ttl, field/values.
# Returns 0 when the key was already claimed (nothing written) or the record is gone.
_WRITE = f"""
if ARGV[3] == 'existing' and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if KEYS[4] ~= KEYS[1] and not redis.call('SET', KEYS[4], ARGV[6], 'NX', 'EX', ARGV[7]) then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[1], ARGV[1])
if KEYS[2] ~= KEYS[1] then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[2]) - 1)
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
if KEYS[3] ~= KEYS[1] then
  redis.call('XADD', KEYS[3], '*', '{QueueField.JOB}', ARGV[4],
             '{QueueField.KIND}', redis.call('HGET', KEYS[1], '{JobField.KIND}'))
end
return 1
"""
_STORED = {"kind": JobField.KIND, "status": JobField.STATUS, "server_id": JobField.SERVER_ID,
           "attempts": JobField.ATTEMPTS, "error": JobField.ERROR, "request": JobField.REQUEST,
           "created_at": JobField.CREATED_AT, "updated_at": JobField.UPDATED_AT,
           "started_at": JobField.STARTED_AT, "requested_by": JobField.REQUESTED_BY,
           "result": JobField.RESULT}


def _encode(name: str, value: Any) -> str:
    if name in ("request", "result"):
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
        self._write_script = redis.register_script(_WRITE)

    def new(self, project_id: str, kind: str,
            request: LaunchRequest | ActionRequest | VolumeRequest | None = None,
            server_id: str | None = None, requested_by: str | None = None) -> Job:
        """A job not yet stored."""
        now = self._clock()
        return Job(id=uuid.uuid4().hex, project_id=project_id, kind=kind, status=QUEUED,
                   server_id=server_id, attempts=0, error=None, created_at=now, updated_at=now,
                   request=request, requested_by=requested_by)

    def fields_of(self, job: Job) -> dict[str, str]:
        """A job's whole record, as stored."""
        return {field: _encode(name, getattr(job, name)) for name, field in _STORED.items()}

    async def write_queued(self, job: Job, queue: str, claim: KeyClaim | None, client: Redis) -> bool:
        """Write a new job's whole record and, in the same step, put it in ``queue`` and claim
        the Idempotency-Key of ``claim``, on ``client`` (the connection the write's acknowledgement
        waits on); False (nothing written) if the key was claimed before. ``JobQueue.submit`` is
        the way to call it."""
        return await self._write(job, self.fields_of(job), job.server_id, new=True, queue=queue,
                                 claim=claim, client=client)

    async def _write(self, job: Job, fields: dict[str, str], server_id: str | None, *,
                     new: bool = False, queue: str = "", claim: KeyClaim | None = None,
                     client: Redis | None = None) -> bool:
        """Write fields of the record in one step; a server id (new or newly known) indexes the
        job under it."""
        record = layout.job(job.project_id, job.id)
        index = layout.server_jobs(job.project_id, server_id) if server_id else ""
        claim = claim or KeyClaim("", "", 0)
        # A key not used is named by the record's own: every key stays in the project's slot.
        written = await self._write_script(
            keys=[record, index or record, queue or record, claim.key or record],
            args=[self._retention, layout.SERVER_JOBS_KEPT, "new" if new else "existing", job.id,
                  repr(job.created_at), claim.value, claim.ttl,
                  *(v for pair in fields.items() for v in pair)], client=client)
        return bool(written)

    async def get(self, project_id: str, job_id: str) -> Job | None:
        """A job of the project, or None (also for another project's job)."""
        stored = await self._redis.hgetall(layout.job(project_id, job_id))
        if not stored:
            return None
        text = decode_fields(stored)
        return Job(id=job_id, project_id=project_id, kind=text[JobField.KIND],
                   status=text[JobField.STATUS], server_id=text[JobField.SERVER_ID] or None,
                   attempts=int(text[JobField.ATTEMPTS]), error=text[JobField.ERROR] or None,
                   created_at=float(text[JobField.CREATED_AT]),
                   updated_at=float(text[JobField.UPDATED_AT]),
                   started_at=float(text[JobField.STARTED_AT]) if text.get(JobField.STARTED_AT) else None,
                   request=json.loads(text[JobField.REQUEST]) or None,
                   requested_by=text.get(JobField.REQUESTED_BY) or None,
                   result=json.loads(text.get(JobField.RESULT) or "null"))

    async def update(self, job: Job, **changes: Any) -> Job:
        """Store only the changed fields (and the time of the change), so a stale copy of the
        job never overwrites what another step recorded."""
        changes["updated_at"] = self._clock()
        if changes.get("status") in (SUCCEEDED, FAILED) and job.request and "user_data" in job.request:
            # cloud-init often carries secrets: kept only while the job may still boot the server
            changes["request"] = {k: v for k, v in job.request.items() if k != "user_data"}
        await self._write(job, {_STORED[name]: _encode(name, value) for name, value in changes.items()},
                          changes.get("server_id"))
        return Job(**{**job.__dict__, **changes})

    async def of_server(self, project_id: str, server_id: str) -> list[Job]:
        """The server's latest jobs (those still kept), newest first."""
        ids = await self._redis.zrevrange(layout.server_jobs(project_id, server_id), 0, -1)
        jobs = [await self.get(project_id, decode(job_id)) for job_id in ids]
        return [job for job in jobs if job is not None]

    async def count_attempt(self, job: Job) -> Job:
        """Record that an attempt starts (and, for the first, when)."""
        if job.started_at is None:
            return await self.update(job, attempts=job.attempts + 1, status=RUNNING,
                                     started_at=self._clock())
        return await self.update(job, attempts=job.attempts + 1, status=RUNNING)
