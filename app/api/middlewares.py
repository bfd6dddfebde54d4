"""The middlewares every request passes: request id, metrics and access log, problem documents."""
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from marshmallow import ValidationError
from redis.exceptions import RedisError

from ..errors import ServiceError
from ..logs import request_id_var
from ..redis_failures import out_of_memory
from .appkeys import CALLER, HTTP_METRICS
from .problems import field_errors, problem, service_problem

logger = logging.getLogger(__name__)
access_log = logging.getLogger("app.access")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Echo ``X-Request-Id`` (or make one) on every answer, and put it in the logs' context."""
    supplied = request.headers.get("X-Request-Id", "")
    request_id = supplied if 0 < len(supplied) <= 128 and supplied.isprintable() else uuid.uuid4().hex
    token = request_id_var.set(request_id)
    try:
        try:
            response = await handler(request)
        except web.HTTPException as error:  # raised past the problem middleware (3xx)
            error.headers["X-Request-Id"] = request_id
            raise
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        request_id_var.reset(token)


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
        access_log.info("%s %s %d %.1f ms", request.method, request.path, status, elapsed * 1000,
                        extra={"fields": {"method": request.method, "route": route,
                                          "path": request.path, "status": status,
                                          "duration_ms": round(elapsed * 1000, 1),
                                          "caller": request.get(CALLER)}})


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors, validation errors and HTTP errors become problem documents."""
    try:
        return await handler(request)
    except ValidationError as error:
        return problem(request, 400, "Invalid request", "The request has invalid parameters.",
                       errors=field_errors(error), kind="invalid-request")
    except ServiceError as error:
        return service_problem(request, error)
    except RedisError as error:
        if out_of_memory(error):
            logger.error("Redis is full, refusing %s %s", request.method, request.path)
            return problem(request, 503, "Service Unavailable",
                           "The service's store is full: changes are refused until it has room; "
                           "reads still work.", kind="store-full", headers={"Retry-After": "30"})
        logger.error("Redis failed answering %s %s: %s", request.method, request.path, error)
        return problem(request, 503, "Service Unavailable",
                       "The service's store is unreachable; try again shortly.",
                       kind="store-unavailable", headers={"Retry-After": "5"})
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return problem(request, error.status, error.reason, error.text or error.reason,
                       headers={k: v for k, v in error.headers.items()
                                if k.lower() in ("www-authenticate", "allow", "retry-after")})
    except Exception:
        logger.exception("unexpected error answering %s %s", request.method, request.path)
        return problem(request, 500, "Internal Server Error",
                       "The server failed to answer; the request id identifies it in the logs.")
