"""``POST /cloud/servers`` and ``DELETE /cloud/servers/{id}``: queued jobs."""
import json
from typing import Any

from aiohttp import web
from marshmallow import ValidationError

from ..errors import InvalidRequest, UnprocessableRequest
from ..snapshot.codec import encode
from .appkeys import SERVICES
from .authorization import authorized_query, caller_of, check_project
from .problems import field_errors
from .schemas import CreateServerSchema, ProjectQuerySchema, create_answer

_CREATE = CreateServerSchema()
_PROJECT = ProjectQuerySchema()
MAX_IDEMPOTENCY_KEY = 255


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="Send the body as application/json.")
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return body


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()):
        raise InvalidRequest("Idempotency-Key must be 1 to 255 printable characters.",
                             {"Idempotency-Key": ["Invalid value."]})
    return key


async def create_server(request: web.Request) -> web.Response:
    """Validate, queue a create job, answer 202 with the server id once Nova has given it."""
    caller = caller_of(request)
    body = await _json_object(request)
    project_id = _PROJECT.load({"project_id": body.get("project_id")})["project_id"]
    check_project(request, caller, project_id)
    key = _idempotency_key(request)
    try:
        server = _CREATE.load(body)
    except ValidationError as error:
        raise UnprocessableRequest("The request body is invalid.", field_errors(error)) from None
    server.pop("project_id")
    answer = create_answer(await request.app[SERVICES].writer.create(project_id, server, key))
    return web.json_response(answer, status=202, headers={"Location": answer["job"]["href"]},
                             dumps=encode)


async def delete_server(request: web.Request) -> web.Response:
    """Queue a delete job; 204 (again) while the server is being deleted; 404 if not there."""
    query = authorized_query(request, _PROJECT)
    await request.app[SERVICES].writer.delete(query["project_id"], request.match_info["server_id"])
    return web.Response(status=204)
