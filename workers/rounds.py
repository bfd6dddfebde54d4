"""The loop every worker runs: a round, then a pause, until stopped; a failing round is logged
(Redis down: one line, no traceback) and tried again after a second."""
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

FAILED_PAUSE = 1.0


class Occasional:
    """A task over every project done now and then (a sweep, a metric): every ``interval``
    seconds, or less often if it takes longer than ``share`` of the time between, so that its
    cost stays bounded however many projects there are."""

    def __init__(self, task: Callable[[], Awaitable[None]], interval: float, share: float = 0.05,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._task = task
        self._interval = interval
        self._share = share
        self._monotonic = monotonic
        self._due = float("-inf")

    async def run_if_due(self) -> None:
        """Run the task if it is due."""
        began = self._monotonic()
        if began < self._due:
            return
        await self._task()
        took = self._monotonic() - began
        self._due = began + max(self._interval, took / self._share)


async def run_rounds(one_round: Callable[[], Awaitable[float]], stop: asyncio.Event,
                     logger: logging.Logger, idle: str, beat: Callable[[], None],
                     wake: asyncio.Event | None = None) -> None:
    """Run ``one_round`` (which answers the seconds to pause after it) until ``stop`` is set,
    calling ``beat`` after each (the worker's liveness); ``idle`` says what does not happen
    while Redis cannot be used (``no jobs taken``). ``wake``, when set, ends a pause early (a
    slot came free)."""
    while not stop.is_set():
        if wake is not None:
            wake.clear()
        try:
            pause = await one_round()
        except RedisError as error:  # down or restarting: one line a second, no traceback
            logger.warning("Redis cannot be used, %s: %s", idle, error)
            pause = FAILED_PAUSE
        except Exception:
            logger.exception("round failed; retrying")
            pause = FAILED_PAUSE
        beat()
        if pause > 0:
            await _pause(pause, stop, wake)


async def _pause(seconds: float, stop: asyncio.Event, wake: asyncio.Event | None) -> None:
    """Until ``seconds`` pass, ``stop`` is set or ``wake`` is."""
    waits = {asyncio.ensure_future(event.wait()) for event in (stop, wake) if event is not None}
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
