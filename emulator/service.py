"""What every emulated service endpoint shares: token checks, injected faults, error rendering."""
import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from .api_errors import ApiError
from .faults import Faults
from .state_keys import CLOUD, FAULTS

ErrorRenderer = Callable[[ApiError], web.Response]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

UNAUTHORIZED = "The request you have made requires authentication."
INTERNAL_ERROR = ("The server has either erred or is incapable of performing the requested "
                  "operation.")
OUTAGE_PAGE = ("<html><body><h1>503 Service Unavailable</h1>\n"
               "No server is available to handle this request.\n</body></html>\n")


def public(handler: Handler) -> Handler:
    """Mark a handler (a version document) as answering without a token."""
    handler.public = True  # type: ignore[attr-defined]
    return handler


def unauthorized(request: web.Request) -> web.Response:
    """keystonemiddleware's answer to a missing, unknown or expired token."""
    return web.json_response(
        {"error": {"code": 401, "title": "Unauthorized", "message": UNAUTHORIZED}},
        status=401,
        headers={"WWW-Authenticate": f'Keystone uri="{request.url.origin()}/v3"'},
    )


def outage() -> web.HTTPServiceUnavailable:
    """What a load balancer answers when no backend of the service is up."""
    return web.HTTPServiceUnavailable(text=OUTAGE_PAGE, content_type="text/html")


def service_app(service: str, render_error: ErrorRenderer,
                *extra_middlewares: Callable[..., Awaitable[web.StreamResponse]]) -> web.Application:
    """A sub-application for one OpenStack service, with its middlewares in order."""

    @web.middleware
    async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        request["service"] = service
        try:
            return await handler(request)
        except ApiError as error:
            return render_error(error)

    return web.Application(
        middlewares=[render_errors, _authenticate, _inject_faults, *extra_middlewares])


@web.middleware
async def _authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if getattr(request.match_info.handler, "public", False):
        return await handler(request)
    token = request.config_dict[CLOUD].valid_token(request.headers.get("X-Auth-Token"))
    if token is None:
        return unauthorized(request)
    request["token"] = token
    request["project_id"] = token.project_id
    return await handler(request)


@web.middleware
async def _inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    faults = request.config_dict[FAULTS].for_call(request.get("project_id"))
    if faults is not None:
        await apply_faults(request, faults)
        request["faults"] = faults
    return await handler(request)


async def apply_faults(request: web.Request, faults: Faults) -> None:
    """Delay, refuse, throttle or fail a call as the faults in force say."""
    if faults.latency:
        await asyncio.sleep(faults.latency)
    if faults.outage:
        raise outage()
    if faults.lacks(request.path):  # as a proxy answers for an API the deployment lacks
        raise web.HTTPNotFound(text=f"not found: {request.path}")
    if faults.take_throttle():
        raise ApiError(faults.throttle_status, "This request was rate-limited.",
                       kind="overLimit", headers={"Retry-After": str(faults.retry_after)})
    if request.config_dict[CLOUD].chance(faults.error_rate):
        raise ApiError(500, INTERNAL_ERROR)
