"""The API's application factory: no I/O here; resources open and close in ``cleanup_ctx``."""
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry

from ..events import EventStream
from ..jobs import JobQueue, JobStore
from ..reads import ProjectReader
from ..recording import ServerRecorder
from ..schedule import PollSchedule
from ..settings import Settings
from ..snapshot import SnapshotStore
from ..tokens import TokenRegistry
from ..wiring import build_refresher, open_gateway, open_redis
from ..writes import ServerWriter
from . import ops, servers, writes
from .keys import (
    DIRECTORY,
    HTTP_METRICS,
    JOB_STORE,
    METRICS_REGISTRY,
    OPENAPI,
    READER,
    REDIS,
    SETTINGS,
    TOKENS,
    WRITER,
)
from .metrics import HttpMetrics
from .openapi import build_openapi
from .problems import Handler, problem_middleware, request_id_middleware
from .resources import RESOURCE_PATHS, resource_list_handler

MAX_BODY = 1024 * 1024
SERVER_NAME = "cloud-servers-api"
access_log = logging.getLogger("app.access")


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count, time and log every answer by route (the query string is not logged)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        elapsed = time.perf_counter() - started
        metrics = request.app[HTTP_METRICS]
        metrics.requests.labels(request.method, route, str(status)).inc()
        metrics.latency.labels(request.method, route).observe(elapsed)
        access_log.info("%s %s %d %.1f ms", request.method, request.path, status, elapsed * 1000)


async def _name_the_server(request: web.Request, response: web.StreamResponse) -> None:
    """``Server`` names the service, not the versions of the libraries it runs on."""
    response.headers["Server"] = SERVER_NAME


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    app[REDIS] = open_redis(app[SETTINGS])
    yield
    await app[REDIS].aclose()


async def _openstack_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, redis = app[SETTINGS], app[REDIS]
    gateway = open_gateway(settings)
    snapshot = SnapshotStore(redis)
    recorder = ServerRecorder(snapshot, EventStream(redis))
    app[DIRECTORY] = gateway.directory
    app[READER] = ProjectReader(
        snapshot, build_refresher(settings, redis, gateway), gateway, recorder,
        PollSchedule(redis), max_age=settings.snapshot_max_age, poll_interval=settings.poll_interval)
    app[JOB_STORE] = JobStore(redis, settings.job_retention)
    app[WRITER] = ServerWriter(redis, app[READER], snapshot, recorder, app[JOB_STORE], JobQueue(redis),
                               create_wait=settings.create_wait, retention=settings.job_retention)
    yield
    gateway.close()


async def _tokens_ctx(app: web.Application) -> AsyncIterator[None]:
    tokens_file = app[SETTINGS].tokens_file
    if tokens_file is None:
        raise RuntimeError("API_TOKENS_FILE is required to serve the API")
    app[TOKENS] = TokenRegistry(tokens_file)
    yield


def create_app(settings: Settings) -> web.Application:
    """The Cloud Servers API."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[
        request_id_middleware, metrics_middleware, problem_middleware])
    app[SETTINGS] = settings
    app[METRICS_REGISTRY] = CollectorRegistry()
    app[HTTP_METRICS] = HttpMetrics(app[METRICS_REGISTRY])
    app[OPENAPI] = build_openapi()
    app.cleanup_ctx.extend([_tokens_ctx, _redis_ctx, _openstack_ctx])
    app.on_response_prepare.append(_name_the_server)
    app.router.add_get("/healthz", ops.healthz)
    app.router.add_get("/readyz", ops.readyz)
    app.router.add_get("/metrics", ops.metrics)
    app.router.add_get("/cloud/openapi.json", ops.openapi)
    app.router.add_get("/cloud/servers", servers.list_servers)
    app.router.add_post("/cloud/servers", writes.create_server)
    app.router.add_get("/cloud/servers/{server_id}", servers.show_server)
    app.router.add_delete("/cloud/servers/{server_id}", writes.delete_server)
    app.router.add_get("/cloud/jobs/{job_id}", writes.show_job)
    for path, kind in RESOURCE_PATHS.items():
        app.router.add_get(f"/cloud/{path}", resource_list_handler(kind))
    return app
