"""The cloud-wide poller: in every worker, it runs the cloud-wide poll of each region whose
claim it holds (one worker a region at a time), once per ``POLL_INTERVAL``; a failing region is
tried again after a backoff, while the per-project polls list its projects' servers."""
import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable

from redis.exceptions import RedisError

from app.core.times import Clock
from app.process.settings import Settings
from app.snapshot.cloud_poll import CloudWidePoll

from .metrics import WorkerMetrics
from .poller import MAX_TICK, backoff_delay
from .rounds import run_rounds

logger = logging.getLogger(__name__)


class CloudPoller:
    """Claims regions and runs their cloud-wide polls when due."""

    def __init__(self, settings: Settings, polls: CloudWidePoll, metrics: WorkerMetrics,
                 clock: Clock = time.time) -> None:
        self._settings = settings
        self._polls = polls
        self._metrics = metrics
        self._clock = clock
        self._token = uuid.uuid4().hex
        self._random = random.Random()
        self._held: set[str] = set()

    async def run(self, stop: asyncio.Event, beat: Callable[[], None] = lambda: None) -> None:
        """Poll the regions this worker holds until ``stop`` is set; then let go of them."""
        if not self._polls.regions:
            await stop.wait()
            return

        async def one_round() -> float:
            return min([await self._region_round(region) for region in self._polls.regions])

        try:
            await run_rounds(one_round, stop, logger, "no cloud-wide polls", beat)
        finally:
            for region in self._held:
                try:
                    await self._polls.let_go(region, self._token)
                except RedisError as error:  # the claim runs out and another worker takes over
                    logger.warning("could not let go of region %r: %s", region, error)

    async def _region_round(self, region: str) -> float:
        """Poll the region if this worker holds it and it is due; seconds until it is next due."""
        if not await self._polls.hold(region, self._token, self._settings.poll_lease):
            self._held.discard(region)
            return MAX_TICK
        if region not in self._held:
            logger.info("running the cloud-wide poll of region %r", region)
            self._held.add(region)
        state = await self._polls.state(region)
        if state.next_due > self._clock():
            return min(MAX_TICK, state.next_due - self._clock())
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._settings.poll_lease * 0.8):
                routed = await self._polls.poll(region)
            self._metrics.cloud_polls.labels(region, "ok").observe(time.monotonic() - started)
            self._metrics.cloud_poll_dropped.labels(region).inc(routed.dropped)
            if state.failures:
                logger.info("the cloud-wide poll of region %r works again; per-project polls stop "
                            "listing its servers", region)
        except RedisError:
            raise
        except Exception as error:
            self._metrics.cloud_polls.labels(region, "failed").observe(time.monotonic() - started)
            delay = backoff_delay(state.failures + 1, self._settings.poll_interval,
                                  self._settings.poll_backoff_max, self._random.uniform(0.8, 1.2))
            failures = await self._polls.record_failure(region, error, self._clock() + delay)
            logger.warning("cloud-wide poll of region %r failed (%d in a row), per-project polls list "
                           "its servers; next try in %.1f s: %s", region, failures, delay, error)
        return 0.0
