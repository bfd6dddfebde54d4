"""``python -m workers``: the background workers: the Nova poller and the job runner."""
import asyncio
import logging
import signal

from app.composition import open_services
from app.settings import Settings
from app.startup import settings_and_logging

from .job_runner import JobRunner
from .poller import Poller

logger = logging.getLogger("workers")


async def run_workers(settings: Settings, stop: asyncio.Event) -> None:
    """Run the poller and the job runner until ``stop`` is set, then close what they opened."""
    async with open_services(settings) as services:
        poller = Poller(settings, services.directory, services.refresher, services.schedule)
        runner = JobRunner(settings, services.directory, services.queue, services.jobs,
                           services.executor)
        logger.info("polling %d projects every %.0f s; running jobs as %s",
                    len(services.directory.project_ids), settings.poll_interval, runner.consumer)

        async def rebuild() -> None:  # Redis lost its data: consumer groups and schedule anew
            services.queue.forget_groups()
            await poller.register()

        await asyncio.gather(poller.run(stop, drain_timeout=settings.shutdown_timeout),
                             runner.run(stop), services.epoch.watch(rebuild, stop))
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
