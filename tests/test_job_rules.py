"""Job rules that need no OpenStack: retry delays, and jobs whose workers keep stopping."""
from app.events.stream import EventStream
from app.jobs.execution import JobExecutor, RetryPolicy
from app.jobs.job_store import JobStore
from app.snapshot.recording import ServerRecorder
from app.snapshot.snapshot_store import SnapshotStore

PROJECT = "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d"


def test_retry_after_wins_over_backoff_up_to_the_cap():
    policy = RetryPolicy(backoff_max=60)

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
    await jobs.save(job)
    job = await jobs.update(job, attempts=3)
    snapshot, events = SnapshotStore(redis), EventStream(redis)
    executor = JobExecutor(NoOpenStack(), snapshot, jobs, events, ServerRecorder(snapshot, events),
                           RetryPolicy(max_attempts=3))

    finished = await executor.run(job)

    assert finished.status == "failed" and finished.error.startswith("Gave up after 3 attempts")
    assert (await jobs.get(PROJECT, job.id)).status == "failed"
    assert [e["type"] for e in await EventStream(redis).read(PROJECT)] == ["job.failed"]
