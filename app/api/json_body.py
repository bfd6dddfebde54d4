"""Request bodies: JSON objects of bounded depth and size, read within a time limit, loaded by
their schema; and the ``202`` that answers a body turned into a queued job."""
import asyncio
import json
import re
from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError

from ..core.errors import InvalidRequest, UnprocessableRequest
from ..snapshot.codec import encode
from .appkeys import BODY_READERS, SETTINGS
from .authorization import caller_of, check_project
from .problems import field_errors
from .schemas import ProjectQuerySchema

MAX_DEPTH = 32  # nesting of arrays and objects; the deepest valid body has 3
MAX_VALUES = 10_000  # array elements and object members, all together
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def check_structure(body: bytes) -> None:
    """``InvalidRequest`` for JSON text nested or sized past the bounds, before it is parsed
    (Python's parser recurses, so a deep body would otherwise exhaust the stack)."""
    bare = _STRING.sub(b'""', body)  # brackets and commas inside strings do not count
    if bare.count(b",") + bare.count(b"[") + bare.count(b"{") > MAX_VALUES:
        raise InvalidRequest(f"The body holds more than {MAX_VALUES} values.")
    depth = 0
    for bracket in _BRACKET.finditer(bare):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > MAX_DEPTH:
            raise InvalidRequest(f"The body nests deeper than {MAX_DEPTH} levels.")


def loaded(schema: Schema, body: dict[str, Any], what: str) -> dict[str, Any]:
    """The body as ``schema`` loads it; a ``422`` naming each bad field if it cannot."""
    try:
        result: dict[str, Any] = schema.load(body)
    except ValidationError as error:
        raise UnprocessableRequest(f"{what} is invalid.", field_errors(error)) from None
    return result


def accepted(answer: dict[str, Any], replayed: bool = False) -> web.Response:
    """A ``202`` for a queued job, with ``Location`` naming the job; a replay of an
    Idempotency-Key's first answer says so (``Idempotent-Replayed: true``)."""
    headers = {"Location": answer["job"]["href"]}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return web.json_response(answer, status=202, headers=headers, dumps=encode)


_PROJECT = ProjectQuerySchema()


async def authorized_body(request: web.Request, limit: str) -> tuple[str, dict[str, Any]]:
    """The body's project id and the body, once the caller may act on that project within its
    ``limit`` (401, 403, 404 and 429 as ``authorized_query``; the body's errors as
    ``json_object``)."""
    caller = await caller_of(request)
    body = await json_object(request)
    project_id: str = _PROJECT.load({"project_id": body.get("project_id")})["project_id"]
    await check_project(request, caller, project_id, limit)
    return project_id, body


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object: 415 unless JSON, 408 if it does not arrive within the body
    timeout, 503 if the bound on bodies being received at once has no room, 400 if it is
    malformed, too deep or too large."""
    timeout, readers = request.app[SETTINGS].body_timeout, request.app[BODY_READERS]
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="Send the body as application/json.")
    if readers.locked():
        raise web.HTTPServiceUnavailable(text="Too many request bodies are being received; retry.",
                                         headers={"Retry-After": "1"})
    try:
        async with readers, asyncio.timeout(timeout):
            raw = await request.read()
    except TimeoutError:
        raise web.HTTPRequestTimeout(text=f"The body did not arrive within {timeout:g} s.") from None
    check_structure(raw)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return body
