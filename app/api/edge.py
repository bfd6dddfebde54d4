"""The edge every answer passes: request id, ``Server``, problem documents, gzip, metrics and
the access log. It wraps each route's handler where the route is registered rather than being an
aiohttp middleware: any middleware makes aiohttp run two coroutine layers more a request (the
middleware and one of its own), and a wrapper also knows its route without a lookup."""
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from marshmallow import ValidationError
from redis.exceptions import RedisError

from ..core.errors import ServiceError
from ..core.logs import request_id_var
from ..store.redis_failures import out_of_memory
from .access_log import AccessLog
from .answer_tally import AnswerTally
from .appkeys import CALLER
from .compression import compress_for
from .problems import field_errors, problem, service_problem
from .serving import SERVER_NAME

logger = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNMATCHED = "unmatched"  # the route of requests no route serves (404 and 405)


class Edge:
    """Wraps handlers so that their answers are counted, timed and logged by ``route``."""

    def __init__(self, tally: AnswerTally, access_log: AccessLog) -> None:
        self._tally = tally
        self._access_log = access_log

    def wrap(self, handler: Handler, route: str) -> Handler:
        """``handler`` behind the edge: ``X-Request-Id`` (echoed, or made) in its answer's headers
        and the logs' context, and ``Server`` naming the service (not the versions of the libraries
        it runs on); errors become problem documents; gzip for a client that takes it; then the
        answer is counted, timed and logged by ``route`` (the query string is not logged)."""
        tally, access_log = self._tally, self._access_log

        @functools.wraps(handler)  # its name and docstring, for the route table's test and tracebacks
        async def at_the_edge(request: web.Request) -> web.StreamResponse:
            started = time.perf_counter()
            supplied = request.headers.get("X-Request-Id", "")
            request_id = (supplied if 0 < len(supplied) <= 128 and supplied.isprintable()
                          else os.urandom(16).hex())
            context = request_id_var.set(request_id)
            status = 500
            try:
                try:
                    response = await handler(request)
                except web.HTTPException as error:
                    if error.status < 400:  # a redirect: raised on, for aiohttp to send
                        status = error.status
                        error.headers.update(edge_headers())
                        raise
                    response = _http_problem(request, error)
                except Exception as error:
                    response = _problem_for(request, error)
                compress_for(request, response)
                if not response.prepared:  # a stream sent its own (``edge_headers``)
                    response.headers.update(edge_headers())
                status = response.status
                return response
            finally:
                elapsed = time.perf_counter() - started
                method = request.method
                tally.answered(method, route, status, elapsed)
                access_log.write(method, route, request.path, status, round(elapsed * 1000, 1),
                                 request.get(CALLER))
                request_id_var.reset(context)

        return at_the_edge


async def unmatched(request: web.Request) -> web.StreamResponse:
    """What no route serves: 405 (with ``Allow``) for a path served with other methods, else 404.
    Registered last, for every method and path, so that these answers pass the edge too."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not request.match_info.route.resource:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


def edge_headers() -> dict[str, str]:
    """What the edge adds to every answer; a handler that sends its answer itself (a stream)
    gives these before it does."""
    return {"Server": SERVER_NAME, "X-Request-Id": request_id_var.get() or ""}


def _http_problem(request: web.Request, error: web.HTTPException) -> web.Response:
    return problem(request, error.status, error.reason, error.text or error.reason,
                   headers={k: v for k, v in error.headers.items()
                            if k.lower() in ("www-authenticate", "allow", "retry-after")})


def _problem_for(request: web.Request, error: Exception) -> web.Response:
    """Domain errors, validation errors and Redis failures as problem documents; anything else
    is logged with its traceback and answered as a 500."""
    if isinstance(error, ValidationError):
        return problem(request, 400, "Invalid request", "The request has invalid parameters.",
                       errors=field_errors(error), kind="invalid-request")
    if isinstance(error, ServiceError):
        return service_problem(request, error)
    if isinstance(error, RedisError):
        if out_of_memory(error):
            logger.error("Redis is full, refusing %s %s", request.method, request.path)
            return problem(request, 503, "Service Unavailable",
                           "The service's store is full: changes are refused until it has room; "
                           "reads still work.", kind="store-full", headers={"Retry-After": "30"})
        logger.error("Redis failed answering %s %s: %s", request.method, request.path, error)
        return problem(request, 503, "Service Unavailable",
                       "The service's store is unreachable; try again shortly.",
                       kind="store-unavailable", headers={"Retry-After": "5"})
    logger.exception("unexpected error answering %s %s", request.method, request.path)
    return problem(request, 500, "Internal Server Error",
                   "The server failed to answer; the request id identifies it in the logs.")
