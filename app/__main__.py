"""``python -m app``: serve the Cloud Servers API."""
import logging

from aiohttp import web

from .api.application import create_app
from .startup import settings_and_logging

logger = logging.getLogger("app")


def main() -> None:
    """Load the settings, configure logging, serve until SIGINT or SIGTERM."""
    settings = settings_and_logging()
    logger.info("serving on %s:%s", settings.listen_host, settings.port)
    web.run_app(create_app(settings), host=settings.listen_host, port=settings.port,
                access_log=None, print=None,
                shutdown_timeout=settings.shutdown_timeout)


if __name__ == "__main__":
    main()
