"""``python -m app``: serve the Cloud Servers API."""
import asyncio
import logging
import signal

from aiohttp import web

from .api.application import create_app
from .api.serving import ApiRunner
from .settings import Settings
from .startup import settings_and_logging

logger = logging.getLogger("app")


async def serve(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then let requests in flight finish for the shutdown timeout."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = ApiRunner(create_app(settings), shutdown_timeout=settings.shutdown_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen_host, settings.port).start()
        logger.info("serving on %s:%s", settings.listen_host, settings.port)
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    """Load the settings, configure logging, serve."""
    asyncio.run(serve(settings_and_logging()))


if __name__ == "__main__":
    main()
