"""``python -m workers``: the background workers: the Nova poller and the job runner."""
import asyncio
import logging
import signal

from app.jobs import JobQueue, JobStore
from app.schedule import PollSchedule
from app.settings import Settings
from app.startup import settings_and_logging
from app.wiring import build_executor, build_refresher, open_gateway, open_redis

from .job_runner import JobRunner
from .poller import Poller

logger = logging.getLogger("workers")


async def run_workers(settings: Settings, stop: asyncio.Event) -> None:
    """Run the poller and the job runner until ``stop`` is set, then close what they opened."""
    redis = open_redis(settings)
    gateway = open_gateway(settings)
    try:
        poller = Poller(settings, gateway.directory, build_refresher(settings, redis, gateway),
                        PollSchedule(redis))
        runner = JobRunner(settings, gateway.directory, JobQueue(redis),
                           JobStore(redis, settings.job_retention),
                           build_executor(settings, redis, gateway))
        logger.info("polling %d projects every %.0f s; running jobs as %s",
                    len(gateway.directory.project_ids), settings.poll_interval, runner.consumer)
        await asyncio.gather(poller.run(stop, drain_timeout=settings.shutdown_timeout),
                             runner.run(stop))
    finally:
        gateway.close()
        await redis.aclose()
        logger.info("stopped")


async def _serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_workers(settings, stop)


def main() -> None:
    """Load the settings, configure logging, run until SIGINT or SIGTERM."""
    asyncio.run(_serve(settings_and_logging()))


if __name__ == "__main__":
    main()
