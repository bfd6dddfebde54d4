"""The Nova poller: claims due projects from the shared schedule and refreshes their snapshots.

Several poller processes can share one Redis: the schedule's leases keep any project from being
polled by two at once. A project whose OpenStack calls fail backs off exponentially (with
jitter) and its snapshot is marked stale, without holding up the other projects.
"""
import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable

import aiojobs
from redis.exceptions import RedisError

from app.core.errors import UnknownProject
from app.core.logs import project_id_var
from app.core.times import Clock
from app.openstack.clouds import CloudDirectory
from app.process.settings import Settings
from app.snapshot.cloud_poll import CloudWidePoll
from app.snapshot.refresh import CloudListing, ProjectRefresher
from app.snapshot.schedule import Holding, PollSchedule, Release
from app.snapshot.snapshot_store import PollStart

from .metrics import WorkerMetrics
from .rounds import Occasional, run_rounds

logger = logging.getLogger(__name__)
MAX_TICK = 1.0
SEND_DELAY = 0.05  # the longest an idle poll's write waits to be sent with others
REGISTER_INTERVAL = 10.0
AGES_INTERVAL = 15.0  # how often the snapshot ages metric is sampled (at most)


def backoff_delay(failures: int, interval: float, maximum: float, jitter: float) -> float:
    """Seconds until a failing project is tried again: doubling per failure, capped, jittered.

    ``jitter`` is a factor drawn from [0.8, 1.2], so failing projects do not retry in lockstep.
    """
    return min(maximum, interval * 2.0 ** min(failures, 16)) * jitter


class Poller:
    """Polls every configured project, a bounded number at once."""

    def __init__(self, settings: Settings, directory: CloudDirectory, refresher: ProjectRefresher,
                 schedule: PollSchedule, cloud: CloudWidePoll, metrics: WorkerMetrics,
                 workers_alive: Callable[[], Awaitable[int]], clock: Clock = time.time) -> None:
        self._settings = settings
        self._directory = directory
        self._refresher = refresher
        self._cloud = cloud
        self._workers_alive = workers_alive
        # The buckets it polls by preference: held for a lease, another worker's overdue projects
        # are claimed after a whole interval.
        self._holding = Holding(uuid.uuid4().hex, hold=settings.poll_lease, grace=settings.poll_interval)
        self._schedule = schedule
        self._clock = clock
        self._random = random.Random()
        self._registered_at = float("-inf")
        self._metrics = metrics
        self._ages = Occasional(self._sample_ages, AGES_INTERVAL)
        self._slot_freed = asyncio.Event()  # room for a batch: claim again now, not after the pause
        # Projects are claimed a batch at a time (as many as OpenStack threads), and what their
        # polls start from is read in one round trip. Twice that many polls at once keep every
        # thread busy while the next batch is claimed.
        self._batch = settings.openstack_threads
        self._in_flight = 2 * self._batch
        self._running = 0
        # Polls that found nothing new: their writes (the list's time, the poll's progress) and
        # releases wait for the next round, which sends them all in one round trip.
        self._finished: list[Release] = []

    async def run(self, stop: asyncio.Event, drain_timeout: float = 10.0,
                  beat: Callable[[], None] = lambda: None) -> None:
        """Claim and poll until ``stop`` is set; then let running polls finish for a bounded time."""
        scheduler = aiojobs.Scheduler(limit=self._in_flight, pending_limit=self._in_flight,
                                      close_timeout=drain_timeout)
        try:
            await self.register()

            async def one_round() -> float:
                await self._send_finished()
                busy = await self._claim_round(scheduler)
                await self._ages.run_if_due()
                pause = MAX_TICK if busy else await self._pause()  # busy: room for a batch wakes it
                return min(pause, SEND_DELAY) if self._running else pause

            await run_rounds(one_round, stop, logger, "no polls claimed", beat, self._slot_freed)
        finally:
            await scheduler.wait_and_close(drain_timeout)
            try:
                await self._send_finished()
                await self._schedule.let_go(self._holding, sorted(self._holding.held))
            except RedisError as error:  # their leases run out and they are polled again
                logger.warning("the last polls' writes were not sent, Redis cannot be used: %s", error)

    async def _sample_ages(self) -> None:
        """Seconds since each configured project's last successful poll (infinite if none)."""
        polled, now = await self._schedule.polled_at(), self._clock()
        self._metrics.snapshot_ages.set(max(0.0, now - polled[project_id]) if project_id in polled
                                        else float("inf") for project_id in self._directory.project_ids)

    async def register(self) -> None:
        """Put every configured project on the schedule (those there keep their due time); share
        the buckets anew among the live workers."""
        await self._schedule.register(self._directory.project_ids, self._clock())
        self._holding.share_among(await self._workers_alive())
        await self._schedule.let_go(self._holding, self._holding.excess())
        self._registered_at = time.monotonic()

    async def _claim_round(self, scheduler: aiojobs.Scheduler) -> bool:
        """When a batch fits, claim due projects for the free slots and read what their polls
        start from; whether the slots are taken (or too few are free for a batch)."""
        # Registering again now and then also rebuilds a schedule that Redis lost.
        if (self._directory.reload_if_changed()
                or time.monotonic() - self._registered_at > REGISTER_INTERVAL):
            await self.register()
        free = self._in_flight - self._running
        if free < self._batch:
            return True
        claimed = await self._schedule.claim(self._clock(), self._settings.poll_lease, free, self._holding)
        if not claimed:
            return False
        starts = await self._refresher.poll_starts(list(claimed))
        serving = await self._cloud.serving()  # regions whose servers the cloud-wide poll lists
        for project_id, token in claimed.items():
            self._running += 1
            cloud = serving.get(self._directory.region_of(project_id)) if serving else None
            await scheduler.spawn(self._poll(project_id, token, starts[project_id], cloud))
        return len(claimed) == free

    async def _send_finished(self) -> None:
        """Send the writes of the polls that found nothing new, and release their projects."""
        finished, self._finished = self._finished, []
        if finished:
            await self._release(finished)

    async def _release(self, releases: list[Release]) -> None:
        for project_id in await self._schedule.release_after_writes(releases):
            logger.warning("lost the lease on project %s while polling it", project_id)

    async def _pause(self) -> float:
        due = await self._schedule.next_due()
        if due is None:
            return MAX_TICK
        return min(MAX_TICK, max(0.05, due - self._clock()))

    async def _poll(self, project_id: str, token: str, read: PollStart, cloud: CloudListing | None) -> None:
        try:
            await self._poll_once(project_id, token, read, cloud)
        finally:
            self._running -= 1
            if self._in_flight - self._running >= self._batch:
                self._slot_freed.set()

    async def _poll_once(self, project_id: str, token: str, read: PollStart,
                         cloud: CloudListing | None) -> None:
        project_id_var.set(project_id)
        settings = self._settings
        started = time.monotonic()
        try:
            async with asyncio.timeout(settings.poll_lease * 0.8):
                outcome = await self._refresher.poll(project_id, read, cloud)
                now = self._clock()
                release = Release(project_id, token, now + settings.poll_interval, outcome.write, now)
                if outcome.changed:  # its events are out: the snapshot follows at once
                    await self._release([release])
                else:
                    self._finished.append(release)
            self._metrics.poll_duration.observe(time.monotonic() - started)
            return
        except asyncio.CancelledError:  # shutting down: hand the project back at once
            await self._schedule.release(project_id, token, self._clock())
            raise
        except RedisError as error:  # its lease runs out and it is polled again
            logger.warning("poll of project %s stopped, Redis cannot be used: %s", project_id, error)
            return
        except UnknownProject:
            logger.info("project %s is no longer configured; it is not polled any more", project_id)
            await self._schedule.forget([project_id])
            return
        except Exception as error:
            self._metrics.poll_errors.inc()
            failures = await self._refresher.record_failure(project_id, error)
            delay = backoff_delay(failures, settings.poll_interval, settings.poll_backoff_max,
                                  self._random.uniform(0.8, 1.2))
            logger.warning("poll of project %s failed (%d in a row), next try in %.1f s: %s",
                           project_id, failures, delay, error)
            next_due = self._clock() + delay
        if not await self._schedule.release(project_id, token, next_due):
            logger.warning("lost the lease on project %s while polling it", project_id)
