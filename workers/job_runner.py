"""The job runner: takes queued jobs (creates, deletes, actions), fairly across projects, and runs them.

Each round takes at most one job per project, so one busy project cannot starve the others.
Jobs run in an aiojobs scheduler with a bound on how many run at once. While a job runs, its
queue entry is heartbeated; a worker that dies stops heartbeating and another claims the entry
after the visibility timeout. On SIGTERM the runner stops taking jobs, lets running ones finish
for a bounded time, and hands back the rest at once.
"""
import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable

import aiojobs
from redis.exceptions import RedisError

from app.core.logs import job_id_var, project_id_var
from app.jobs.execution import JobExecutor
from app.jobs.job import KINDS
from app.jobs.job_store import JobStore
from app.jobs.queue import JobQueue, QueuedEntry
from app.openstack.clouds import CloudDirectory
from app.process.settings import Settings

from .metrics import WorkerMetrics
from .rounds import Occasional, run_rounds

logger = logging.getLogger(__name__)
IDLE_PAUSE = 0.2
REDIS_PAUSE = 1.0
SWEEP_INTERVAL = 5.0  # every queue read: lost hints found again, the queued jobs counted


class JobRunner:
    """Runs the queued jobs of every configured project."""

    def __init__(self, settings: Settings, directory: CloudDirectory, queue: JobQueue,
                 jobs: JobStore, executor: JobExecutor, metrics: WorkerMetrics) -> None:
        self._settings = settings
        self._directory = directory
        self._queue = queue
        self._jobs = jobs
        self._executor = executor
        self._metrics = metrics
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    async def run(self, stop: asyncio.Event, beat: Callable[[], None] = lambda: None) -> None:
        """Take and run jobs until ``stop`` is set."""
        limit = self._settings.job_concurrency
        scheduler = aiojobs.Scheduler(limit=limit, pending_limit=limit,
                                      close_timeout=self._settings.shutdown_timeout)

        async def sweep() -> None:
            self._count_queued(await self._queue.sweep(self._directory.project_ids))

        sweeps = Occasional(sweep, SWEEP_INTERVAL)

        async def one_round() -> float:
            await sweeps.run_if_due()
            return 0.0 if await self._round(scheduler, limit) else IDLE_PAUSE

        try:
            await run_rounds(one_round, stop, logger, "no jobs taken", beat)
        finally:
            await scheduler.wait_and_close(self._settings.shutdown_timeout)

    def _count_queued(self, depth: dict[str, int]) -> None:
        for kind in KINDS:
            self._metrics.jobs_queued.labels(kind).set(depth.get(kind, 0))

    async def _round(self, scheduler: aiojobs.Scheduler, limit: int) -> int:
        """One job from each project that has one, while there is room."""
        started = 0
        for project_id in await self._queue.projects_with_work():
            if scheduler.active_count >= limit:
                break
            entry = await self._queue.take(project_id, self.consumer,
                                           self._settings.job_visibility_timeout)
            if entry is None:
                await self._queue.drop_hint_if_idle(project_id)
                continue
            await scheduler.spawn(self._execute(entry))
            started += 1
        return started

    async def _execute(self, entry: QueuedEntry) -> None:
        project_id_var.set(entry.project_id)
        job_id_var.set(entry.job_id)
        heartbeat = asyncio.create_task(self._heartbeat(entry))
        try:
            job = await self._jobs.get(entry.project_id, entry.job_id)
            if job is not None and not job.finished:
                job = await self._executor.run(job)
                self._metrics.job_finished(job.kind, job.status, job.attempts, job.created_at)
            await self._queue.ack(entry)
        except asyncio.CancelledError:
            await self._queue.hand_back(entry)
            logger.info("handed back job %s", entry.job_id)
            raise
        except RedisError as error:  # its progress is recorded: the next round resumes it
            logger.warning("job %s stopped, Redis cannot be used: %s", entry.job_id, error)
            await self._hand_back_after_redis_error(entry)
        except Exception:  # a bug, not an OpenStack failure: leave the entry for a retry later
            logger.exception("job %s crashed; another attempt follows its visibility timeout",
                             entry.job_id)
        finally:
            heartbeat.cancel()

    async def _hand_back_after_redis_error(self, entry: QueuedEntry) -> None:
        """Make a job that Redis stopped claimable at once (a connection that a Redis restart
        closed fails one command; the next one works); if Redis still fails, the entry waits
        out its visibility timeout as a dead worker's would."""
        try:
            await self._queue.hand_back(entry)
        except RedisError as error:
            logger.warning("job %s waits for its visibility timeout: %s", entry.job_id, error)
        else:
            logger.info("handed back job %s for another attempt", entry.job_id)

    async def _heartbeat(self, entry: QueuedEntry) -> None:
        period = self._settings.job_visibility_timeout / 3
        while True:
            await asyncio.sleep(period)
            try:
                await self._queue.heartbeat(entry, self.consumer)
            except RedisError as error:
                logger.warning("heartbeat of job %s failed: %s", entry.job_id, error)
            except Exception:
                logger.exception("heartbeat of job %s failed", entry.job_id)
