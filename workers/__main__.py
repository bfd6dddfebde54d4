"""``python -m workers``: the background workers (for now the Nova poller)."""
import asyncio
import logging
import signal

from app.schedule import PollSchedule
from app.settings import Settings
from app.startup import settings_and_logging
from app.wiring import build_refresher, open_gateway, open_redis

from .poller import Poller

logger = logging.getLogger("workers")


async def run_workers(settings: Settings, stop: asyncio.Event) -> None:
    """Run the workers until ``stop`` is set, then close what they opened."""
    redis = open_redis(settings)
    gateway = open_gateway(settings)
    try:
        poller = Poller(settings, gateway.directory, build_refresher(settings, redis, gateway),
                        PollSchedule(redis))
        logger.info("polling %d projects every %.0f s", len(gateway.directory.project_ids),
                    settings.poll_interval)
        await poller.run(stop, drain_timeout=settings.shutdown_timeout)
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
