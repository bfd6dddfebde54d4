"""The workers' own port: ``/healthz`` (live while every loop turns), ``/readyz`` (ready while
Redis answers) and ``/metrics``."""
import logging
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
STALL_LIMIT = 60.0  # a loop that has not turned for this long makes the worker not live


class Liveness:
    """When each of the worker's loops last completed a round."""

    def __init__(self) -> None:
        self._beats: dict[str, float] = {}

    def beat(self, loop: str) -> None:
        """``loop`` completed a round now."""
        self._beats[loop] = time.monotonic()

    def stalled(self) -> list[str]:
        """The loops that have not turned within ``STALL_LIMIT`` seconds."""
        now = time.monotonic()
        return sorted(loop for loop, at in self._beats.items() if now - at > STALL_LIMIT)


def health_app(registry: CollectorRegistry, liveness: Liveness, redis: Redis) -> web.Application:
    """The app of the workers' port."""
    async def healthz(request: web.Request) -> web.Response:
        stalled = liveness.stalled()
        if stalled:
            return web.json_response({"status": "stalled", "loops": stalled}, status=503)
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        try:
            await redis.ping()
        except (RedisError, OSError) as error:
            logger.warning("not ready: Redis does not answer: %s", error)
            return web.json_response({"status": "unavailable", "redis": "unreachable"}, status=503)
        return web.json_response({"status": "ok", "redis": "ok"})

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


async def start_health_server(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` on ``host:port`` (0: a free port, logged); stop with ``cleanup``. A port
    that cannot be had ends the process with one line, as a bad setting does."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise SystemExit(f"configuration error: WORKER_METRICS_PORT: cannot listen on {host}:{port}: "
                         f"{error.strerror}") from None
    logger.info("worker health and metrics on http://%s:%d", host, runner.addresses[0][1])
    return runner
