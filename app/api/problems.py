"""RFC 9457 problem documents, and which status each domain error answers with."""
import json
from typing import Any

from aiohttp import web
from marshmallow import ValidationError

from ..core.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotConfigured,
    NotFound,
    NotReplicated,
    OpenStackRejected,
    OpenStackTimeout,
    OpenStackUnavailable,
    RateLimited,
    ServiceError,
    UnknownProject,
    UnprocessableRequest,
)
from ..core.logs import request_id_var
from .schemas import ProblemSchema

PROBLEM_TYPE = "application/problem+json"
RETRY_AFTER_DEFAULT = 5  # seconds, on a 503 that knows no better
_STATUS_OF = ((UnprocessableRequest, 422), (InvalidRequest, 400), (Forbidden, 403),
              (RateLimited, 429), (Conflict, 409), (UnknownProject, 404), (NotFound, 404),
              (OpenStackTimeout, 504), (OpenStackUnavailable, 503), (OpenStackRejected, 503),
              (NotConfigured, 503), (NotReplicated, 503))
_PROBLEM = ProblemSchema()


def problem(request: web.Request, status: int, title: str, detail: str, *,
            errors: dict[str, list[str]] | None = None, kind: str | None = None,
            headers: dict[str, str] | None = None) -> web.Response:
    """A problem document answer."""
    body: dict[str, Any] = {
        "type": f"/problems/{kind}" if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        "request_id": request_id_var.get() or "",
    }
    if errors:
        body["errors"] = errors
    headers = {"Cache-Control": "no-store", **(headers or {})}
    if status == 503:  # every 503 says when to come back
        headers.setdefault("Retry-After", str(RETRY_AFTER_DEFAULT))
    return web.Response(status=status, text=json.dumps(_PROBLEM.dump(body)),
                        content_type=PROBLEM_TYPE, charset="utf-8", headers=headers)


def service_problem(request: web.Request, error: ServiceError) -> web.Response:
    """The problem document a domain error answers with."""
    status = next(code for kind, code in _STATUS_OF if isinstance(error, kind))
    headers = {}
    if isinstance(error, OpenStackRejected | RateLimited | NotReplicated) and error.retry_after is not None:
        headers["Retry-After"] = str(int(error.retry_after + 0.999))
    errors = error.errors if isinstance(error, InvalidRequest) else None
    return problem(request, status, error.title, error.detail, errors=errors, kind=error.slug,
                   headers=headers)


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    """A marshmallow error's messages, one list per (dotted) field."""
    messages: dict[str, Any] = error.normalized_messages()  # type: ignore[no-untyped-call]
    return flatten_messages(messages)


def flatten_messages(messages: dict[str, Any]) -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"field.inner": [messages]}``."""
    flat: dict[str, list[str]] = {}
    for field, value in messages.items():
        if isinstance(value, dict):
            for inner, inner_value in flatten_messages(value).items():
                flat[f"{field}.{inner}"] = inner_value
        else:
            flat[str(field)] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return flat
