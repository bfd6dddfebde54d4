"""The API's application factory: no I/O here; resources open and close in ``cleanup_ctx``."""
import asyncio
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from ..core.times import Clock
from ..events.feed import EventFeed
from ..process.metrics_registry import new_registry
from ..process.settings import Settings
from .appkeys import (
    ACCESS,
    BODY_READERS,
    CLOCK,
    COMPRESSED_BODIES,
    DECODED_LISTS,
    EVENT_FEED,
    HTTP_METRICS,
    METRICS_REGISTRY,
    OPENAPI,
    SERVICES,
    SETTINGS,
)
from .compression import CompressedBodies
from .decoded_lists import DecodedLists
from .edge_services import OpenApiServices
from .handlers import (
    event_stream,
    job_status,
    operations,
    server_actions,
    server_reads,
    server_writes,
    webhook_subscriptions,
)
from .handlers.resource_lists import RESOURCE_PATHS, resource_list_handler
from .http_metrics import HttpMetrics
from .middlewares import edge_middleware
from .openapi import build_openapi
from .serving import SERVER_NAME

MAX_BODY = 1024 * 1024


async def _name_the_server(request: web.Request, response: web.StreamResponse) -> None:
    """``Server`` names the service, not the versions of the libraries it runs on."""
    response.headers["Server"] = SERVER_NAME


def _services_ctx(open_services: OpenApiServices) -> Callable[[web.Application], AsyncIterator[None]]:
    """The services (Redis, OpenStack, stores) and the access check, opened for the app's life."""
    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_services(app[SETTINGS], app[CLOCK]) as (services, access):
            app[SERVICES], app[ACCESS] = services, access
            yield
    return services_ctx


async def _followers_ctx(app: web.Application) -> AsyncIterator[None]:
    """The event feed, the data-loss watch and the snapshot's change channel, while the app runs."""
    services = app[SERVICES]
    app[EVENT_FEED] = EventFeed(services.events)
    services.gateway.observe_calls(app[HTTP_METRICS].openstack_call)

    async def count_loss() -> None:
        app[HTTP_METRICS].redis_data_losses.inc()

    stop = asyncio.Event()
    watch = asyncio.create_task(services.epoch.watch(count_loss, stop))
    changes = asyncio.create_task(services.snapshot_changes.follow())
    yield
    changes.cancel()
    stop.set()
    await asyncio.gather(watch, changes, return_exceptions=True)
    await app[EVENT_FEED].close()


async def _end_event_streams(app: web.Application) -> None:
    """On shutdown, open event streams end (their clients resume with ``Last-Event-ID``)."""
    if EVENT_FEED in app:
        await app[EVENT_FEED].close()


def create_app(settings: Settings, open_services: OpenApiServices,
               clock: Clock = time.time) -> web.Application:
    """The Cloud Servers API over the services ``open_services`` opens; ``clock`` is the wall
    clock its snapshot ages and jobs are timed by."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[edge_middleware])
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[BODY_READERS] = asyncio.Semaphore(settings.body_reads_max)
    app[METRICS_REGISTRY] = new_registry()
    app[HTTP_METRICS] = HttpMetrics(app[METRICS_REGISTRY])
    app.cleanup_ctx.append(_services_ctx(open_services))
    app.cleanup_ctx.append(_followers_ctx)
    app[COMPRESSED_BODIES] = CompressedBodies()
    app[DECODED_LISTS] = DecodedLists()
    app.on_response_prepare.append(_name_the_server)
    app.on_shutdown.append(_end_event_streams)
    app.router.add_get("/healthz", operations.healthz)
    app.router.add_get("/readyz", operations.readyz)
    app.router.add_get("/metrics", operations.metrics)
    app.router.add_get("/cloud/openapi.json", operations.openapi)
    app.router.add_get("/cloud/servers", server_reads.list_servers)
    app.router.add_post("/cloud/servers", server_writes.create_server)
    app.router.add_get("/cloud/servers/{server_id}", server_reads.show_server)
    app.router.add_delete("/cloud/servers/{server_id}", server_writes.delete_server)
    app.router.add_post("/cloud/servers/{server_id}/actions", server_actions.act_on_server)
    app.router.add_get("/cloud/jobs", job_status.list_jobs)
    app.router.add_get("/cloud/jobs/{job_id}", job_status.show_job)
    app.router.add_get("/cloud/events", event_stream.stream_events)
    app.router.add_post("/cloud/webhooks", webhook_subscriptions.create_webhook)
    app.router.add_get("/cloud/webhooks", webhook_subscriptions.list_webhooks)
    app.router.add_get("/cloud/webhooks/{webhook_id}", webhook_subscriptions.show_webhook)
    app.router.add_delete("/cloud/webhooks/{webhook_id}", webhook_subscriptions.delete_webhook)
    app.router.add_post("/cloud/webhooks/{webhook_id}/rotate-secret", webhook_subscriptions.rotate_secret)
    app.router.add_post("/cloud/webhooks/{webhook_id}/ping", webhook_subscriptions.ping_webhook)
    app.router.add_get("/cloud/webhooks/{webhook_id}/deliveries", webhook_subscriptions.list_deliveries)
    app.router.add_post("/cloud/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
                        webhook_subscriptions.redeliver)
    for path, kind in RESOURCE_PATHS.items():
        app.router.add_get(f"/cloud/{path}", resource_list_handler(kind))
    app[OPENAPI] = build_openapi(_descriptions(app.router))
    return app


def _descriptions(router: web.UrlDispatcher) -> dict[tuple[str, str], str]:
    """Each route's description for the OpenAPI document: its handler's docstring."""
    return {(route.method.lower(), route.resource.canonical): " ".join((route.handler.__doc__ or "").split())
            for route in router.routes() if route.resource is not None and route.method != "HEAD"}
