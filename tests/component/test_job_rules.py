"""Job rules that need no OpenStack: retry delays, and jobs whose workers keep stopping."""
import dataclasses

from app.core.errors import OpenStackRejected, OpenStackUnavailable
from app.events.stream import EventStream
from app.jobs.execution import JobExecutor
from app.jobs.job_store import JobStore
from app.jobs.marks import ServerMarks
from app.jobs.queue import JobQueue
from app.process.composition import retry_policy
from app.snapshot.recording import ServerRecorder, VolumeRecorder
from app.snapshot.snapshot_store import SnapshotStore
from app.store import redis_layout as layout
from app.store.redis_layout import QueueField
from tests.support import settings_with

PROJECT = "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d"


def test_retry_after_wins_over_backoff_up_to_the_cap():
    policy = retry_policy(settings_with(job_backoff_max=60))

    assert [policy.delay(n, None, 1.0) for n in (1, 2, 3, 7, 8)] == [1, 2, 4, 60, 60]
    assert policy.delay(1, 30, 1.0) == 30 and policy.delay(1, 600, 1.0) == 60
    assert policy.delay(3, None, 0.8) == 3.2


class NoOpenStack:
    """A gateway that must not be called."""

    def __getattr__(self, name):
        raise AssertionError(f"OpenStack was called ({name})")


async def test_a_job_whose_workers_kept_stopping_fails_without_calling_nova(redis):
    jobs = JobStore(redis, retention=3600)
    job = jobs.new(PROJECT, "create", {"name": "x", "flavor_id": "1", "image_id": "i",
                                       "network_ids": ["n"], "key_name": None, "metadata": {},
                                       "availability_zone": None})
    await JobQueue(redis, jobs).submit(job)
    job = await jobs.update(job, attempts=3)
    snapshot, events = SnapshotStore(redis), EventStream(redis)
    executor = JobExecutor(NoOpenStack(), snapshot, jobs, ServerMarks(redis), events,
                           ServerRecorder(snapshot, ServerMarks(redis), events),
                           VolumeRecorder(snapshot, events), retry_policy(settings_with(job_max_attempts=3)))

    finished = await executor.run(job)

    assert finished.status == "failed" and finished.error.startswith("Gave up after 3 attempts")
    assert (await jobs.get(PROJECT, job.id)).status == "failed"
    assert [e["type"] for e in await EventStream(redis).read(PROJECT)] == ["job.failed"]


async def test_the_retry_budget_counts_from_the_first_attempt_not_from_queueing(redis):
    now = 1_800_000_000.0
    jobs = JobStore(redis, retention=3600, clock=lambda: now)
    snapshot, events = SnapshotStore(redis), EventStream(redis)
    policy = retry_policy(settings_with(job_retry_budget=60, job_max_attempts=100))
    queued_long = jobs.new(PROJECT, "delete", server_id="s-1")
    queued_long = dataclasses.replace(queued_long, created_at=now - 3600)
    started_long = dataclasses.replace(queued_long, id="j-2", attempts=1, started_at=now - 61)
    for job in (queued_long, started_long):
        await JobQueue(redis, jobs).submit(job)

    class Refusing:
        """A gateway whose every call is refused for good (a 400), so one attempt ends the job."""

        async def delete_server(self, project_id, server_id):
            raise OpenStackRejected("refused", 400)

        async def get_server(self, project_id, server_id):  # the failed delete's restore
            raise OpenStackUnavailable("down")

    executor = JobExecutor(Refusing(), snapshot, jobs, ServerMarks(redis), events,
                           ServerRecorder(snapshot, ServerMarks(redis), events),
                           VolumeRecorder(snapshot, events), policy, clock=lambda: now)

    tried = await executor.run(queued_long)
    spent = await executor.run(started_long)

    assert (tried.attempts, tried.error) == (1, "refused")  # an hour queued still gets its try
    assert spent.attempts == 1 and spent.error.startswith("Gave up after 1 attempts over 61 s")


async def test_the_sweep_flags_only_projects_whose_queues_hold_jobs(redis):
    """A lost hint is found again by the sweep, which reads every queue in one round trip and
    flags only those with entries: an idle project costs the job runner nothing more."""
    idle, busy = "0" * 32, PROJECT
    await redis.xadd(layout.job_queue(busy), {QueueField.JOB: "job-1", QueueField.KIND: "create"})
    await redis.xadd(layout.job_queue(busy), {QueueField.JOB: "job-2", QueueField.KIND: "delete"})

    depth = await JobQueue(redis, JobStore(redis, retention=3600)).sweep([idle, busy])

    assert depth == {"create": 1, "delete": 1}
    assert await JobQueue(redis, JobStore(redis, retention=3600)).projects_with_work() == [busy]


async def test_a_job_submitted_right_after_the_idle_check_keeps_its_projects_hint(redis, monkeypatch):
    """The runner finds a project's queue empty just as a job arrives: the hint survives."""
    queue, idle = JobQueue(redis, JobStore(redis, retention=3600)), "0" * 32
    await redis.zadd(layout.JOBS_READY, {PROJECT: 1.0, idle: 1.0})
    checked = redis.xlen

    async def then_a_submit(name):
        length = await checked(name)
        await redis.xadd(layout.job_queue(PROJECT), {QueueField.JOB: "job-1", QueueField.KIND: "create"})
        await redis.zadd(layout.JOBS_READY, {PROJECT: 2.0}, nx=True)  # as submit does, after its entry
        return length

    monkeypatch.setattr(redis, "xlen", then_a_submit)
    await queue.drop_hint_if_idle(PROJECT)
    monkeypatch.undo()
    await queue.drop_hint_if_idle(idle)  # an idle project's hint goes

    assert await queue.projects_with_work() == [PROJECT]
