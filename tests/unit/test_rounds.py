"""The workers' loop: a pause ends when it runs out, when the worker stops, or when a slot comes
free (the poller claims again at once instead of waiting out its pause)."""
import asyncio
import itertools
import logging
import time

from workers.rounds import Occasional, run_rounds

LOGGER = logging.getLogger("test")


async def test_a_wake_ends_the_pause_and_stop_ends_the_loop():
    stop, wake = asyncio.Event(), asyncio.Event()
    rounds: list[float] = []

    async def one_round() -> float:
        rounds.append(time.monotonic())
        if len(rounds) == 1:
            asyncio.get_running_loop().call_later(0.05, wake.set)
        if len(rounds) == 2:
            stop.set()
        return 30.0  # a long pause, unless woken

    await asyncio.wait_for(run_rounds(one_round, stop, LOGGER, "nothing", lambda: None, wake), 5)

    assert len(rounds) == 2 and rounds[1] - rounds[0] < 5


async def test_without_a_wake_the_pause_runs_out():
    stop = asyncio.Event()
    rounds: list[float] = []

    async def one_round() -> float:
        rounds.append(time.monotonic())
        if len(rounds) == 2:
            stop.set()
        return 0.2

    await asyncio.wait_for(run_rounds(one_round, stop, LOGGER, "nothing", lambda: None), 5)

    assert len(rounds) == 2 and rounds[1] - rounds[0] >= 0.19


async def test_an_occasional_task_runs_every_interval_or_less_often_when_it_is_slow():
    now = [0.0]
    durations = itertools.chain([1.0, 4.0], itertools.repeat(1.0))
    runs: list[float] = []

    async def task() -> None:
        runs.append(now[0])
        now[0] += next(durations)

    occasional = Occasional(task, interval=5.0, share=0.5, monotonic=lambda: now[0])
    while now[0] < 24:
        await occasional.run_if_due()
        now[0] += 1.0

    # 1 s of work: every 5 s; 4 s of work: 8 s until the next (its share is half the time)
    assert runs == [0.0, 5.0, 13.0, 18.0, 23.0]
