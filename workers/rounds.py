"""The loop every worker runs: a round, then a pause, until stopped; a failing round is logged
(Redis down: one line, no traceback) and tried again after a second."""
import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

FAILED_PAUSE = 1.0


async def run_rounds(one_round: Callable[[], Awaitable[float]], stop: asyncio.Event,
                     logger: logging.Logger, idle: str, beat: Callable[[], None]) -> None:
    """Run ``one_round`` (which answers the seconds to pause after it) until ``stop`` is set,
    calling ``beat`` after each (the worker's liveness); ``idle`` says what does not happen
    while Redis cannot be used (``no jobs taken``)."""
    while not stop.is_set():
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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
