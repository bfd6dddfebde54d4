"""The API's application factory: no I/O here; resources open and close in ``cleanup_ctx``."""
import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from ..access.issuer_keys import REFETCH_AFTER
from ..access.jwt_verifier import JwtVerifier
from ..core.times import Clock
from ..events.feed import EventFeed
from ..process.metrics_registry import new_registry
from ..process.settings import Settings
from .access_log import AccessLog
from .appkeys import (
    ACCESS,
    ACCESS_LOG,
    BODY_READERS,
    CLOCK,
    COMPRESSED_BODIES,
    DECODED_LISTS,
    EVENT_FEED,
    HTTP_METRICS,
    METRICS_REGISTRY,
    OPENAPI,
    ROLES,
    SERVICES,
    SETTINGS,
)
from .compression import CompressedBodies
from .decoded_lists import DecodedLists
from .edge import UNMATCHED, Edge, unmatched
from .edge_services import OpenApiServices
from .http_metrics import HttpMetrics
from .key_fetching import KeyFetcher
from .openapi import build_openapi
from .routes import routes

MAX_BODY = 1024 * 1024
logger = logging.getLogger(__name__)


def _services_ctx(open_services: OpenApiServices) -> Callable[[web.Application], AsyncIterator[None]]:
    """The services (Redis, OpenStack, stores) and the access check, opened for the app's life,
    with the HTTP client that fetches JWT issuers' keys."""
    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        async with (aiohttp.ClientSession() as session,
                    open_services(app[SETTINGS], app[CLOCK], KeyFetcher(session)) as (services, access)):
            app[SERVICES], app[ACCESS] = services, access
            services.replicated.count_unreplicated(app[HTTP_METRICS].unreplicated_writes.inc)
            yield
    return services_ctx


async def _access_log_ctx(app: web.Application) -> AsyncIterator[None]:
    """The access log's writer, for the app's life: the last to stop, so every line is written."""
    stop = asyncio.Event()
    flushing = asyncio.create_task(app[ACCESS_LOG].keep_flushing(stop))
    yield
    stop.set()
    await flushing


async def _keep_issuer_keys(jwts: JwtVerifier, stop: asyncio.Event) -> None:
    """Fetch the trusted issuers' keys at start, then whenever they are due (an issuer that could
    not be reached is tried again every ``REFETCH_AFTER`` s); requests never wait for this."""
    while not stop.is_set():
        try:
            await jwts.refresh_due()
        except Exception:  # a bug: logged, and tried again at the next turn
            logger.exception("fetching the issuers' keys failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REFETCH_AFTER)


async def _followers_ctx(app: web.Application) -> AsyncIterator[None]:
    """The event feed, the data-loss watch and the snapshot's change channel, while the app runs."""
    services = app[SERVICES]
    app[EVENT_FEED] = EventFeed(services.events)
    services.gateway.observe_calls(app[HTTP_METRICS].openstack_call)

    async def count_loss() -> None:
        app[HTTP_METRICS].redis_data_losses.inc()

    stop = asyncio.Event()
    tasks = [asyncio.create_task(services.epoch.watch(count_loss, stop))]
    jwts = app[ACCESS].jwts
    if jwts is not None:
        tasks.append(asyncio.create_task(_keep_issuer_keys(jwts, stop)))
    changes = asyncio.create_task(services.snapshot_changes.follow())
    yield
    changes.cancel()
    stop.set()
    await asyncio.gather(*tasks, changes, return_exceptions=True)
    await app[EVENT_FEED].close()


async def _end_event_streams(app: web.Application) -> None:
    """On shutdown, open event streams end (their clients resume with ``Last-Event-ID``)."""
    if EVENT_FEED in app:
        await app[EVENT_FEED].close()


def create_app(settings: Settings, open_services: OpenApiServices,
               clock: Clock = time.time) -> web.Application:
    """The Cloud Servers API over the services ``open_services`` opens; ``clock`` is the wall
    clock its snapshot ages and jobs are timed by."""
    app = web.Application(client_max_size=MAX_BODY)  # no middleware: ``Edge`` wraps each handler
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[BODY_READERS] = asyncio.Semaphore(settings.body_reads_max)
    app[METRICS_REGISTRY] = new_registry()
    app[HTTP_METRICS] = HttpMetrics(app[METRICS_REGISTRY])
    app[ACCESS_LOG] = AccessLog()
    app.cleanup_ctx.append(_access_log_ctx)
    app.cleanup_ctx.append(_services_ctx(open_services))
    app.cleanup_ctx.append(_followers_ctx)
    app[COMPRESSED_BODIES] = CompressedBodies()
    app[DECODED_LISTS] = DecodedLists()
    app.on_shutdown.append(_end_event_streams)
    served = routes()
    app[ROLES] = {(route.method.upper(), route.path): route.role for route in served if route.role}
    edge = Edge(app[HTTP_METRICS].answers, app[ACCESS_LOG])
    for route in served:  # a GET also answers HEAD, as aiohttp's add_get makes it
        handler = edge.wrap(route.handler, route.path)
        if route.method == "get":
            app.router.add_get(route.path, handler)
        else:
            app.router.add_route(route.method.upper(), route.path, handler)
    app.router.add_route("*", "/{path:.*}", edge.wrap(unmatched, UNMATCHED))  # last: 404 and 405
    app[OPENAPI] = build_openapi(served)
    return app

