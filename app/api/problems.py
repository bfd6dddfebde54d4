"""RFC 9457 problem documents, and the middleware that turns every error into one."""
import json
import logging
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from marshmallow import ValidationError
from redis.exceptions import RedisError

from ..errors import (
    InvalidRequest,
    NotFound,
    OpenStackRejected,
    OpenStackTimeout,
    OpenStackUnavailable,
    ServiceError,
    UnknownProject,
    UnprocessableRequest,
)
from ..logs import request_id_var

logger = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PROBLEM_TYPE = "application/problem+json"
_STATUS_OF = ((UnprocessableRequest, 422), (InvalidRequest, 400), (UnknownProject, 404), (NotFound, 404),
              (OpenStackTimeout, 504), (OpenStackUnavailable, 503), (OpenStackRejected, 503))


def problem(request: web.Request, status: int, title: str, detail: str, *,
            errors: dict[str, list[str]] | None = None, kind: str | None = None,
            headers: dict[str, str] | None = None) -> web.Response:
    """A problem document answer."""
    body = {
        "type": f"/problems/{kind}" if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        "request_id": request_id_var.get() or "",
    }
    if errors:
        body["errors"] = errors
    return web.Response(status=status, text=json.dumps(body), content_type=PROBLEM_TYPE,
                        charset="utf-8", headers=headers)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors, validation errors and HTTP errors become problem documents."""
    try:
        return await handler(request)
    except ValidationError as error:
        return problem(request, 400, "Invalid request", "The request has invalid parameters.",
                       errors=flatten_messages(error.normalized_messages()), kind="invalid-request")
    except ServiceError as error:
        status = next(code for kind, code in _STATUS_OF if isinstance(error, kind))
        headers = {}
        if isinstance(error, OpenStackRejected) and error.retry_after is not None:
            headers["Retry-After"] = str(int(error.retry_after + 0.999))
        return problem(request, status, error.title, error.detail,
                       errors=getattr(error, "errors", None), kind=error.slug, headers=headers)
    except RedisError as error:
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


def flatten_messages(messages: dict) -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"field.inner": [messages]}``."""
    flat: dict[str, list[str]] = {}
    for field, value in messages.items():
        if isinstance(value, dict):
            for inner, inner_value in flatten_messages(value).items():
                flat[f"{field}.{inner}"] = inner_value
        else:
            flat[str(field)] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return flat


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
