"""Ending a poll backoff early: once OpenStack answers a project again, poll it at once."""
import logging

from ..core.times import Clock
from .refresh import ProjectRefresher
from .schedule import PollSchedule

logger = logging.getLogger(__name__)


class PollRecovery:
    """Called after every successful OpenStack call (a live show, a job's step): a project whose
    polls were failing becomes due now, so its lists stop being stale within moments."""

    def __init__(self, refresher: ProjectRefresher, schedule: PollSchedule, clock: Clock) -> None:
        self._refresher = refresher
        self._schedule = schedule
        self._clock = clock

    async def __call__(self, project_id: str) -> None:
        if await self._refresher.failing(project_id) and await self._schedule.expedite(
                project_id, self._clock()):
            logger.info("OpenStack answers project %s again: polling it now", project_id)
