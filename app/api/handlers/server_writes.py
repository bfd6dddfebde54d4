"""``POST /cloud/servers`` and ``DELETE /cloud/servers/{id}`` (queued jobs), and
``PATCH /cloud/servers/{id}`` (at once)."""
import re

from aiohttp import web

from ...access.scope import WRITES
from ...core.errors import InvalidRequest
from ...snapshot.codec import encode
from ..appkeys import CALLER, SERVICES
from ..authorization import authorized_query
from ..json_body import accepted, authorized_body, json_object, loaded
from ..path_ids import server_id_of
from ..schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    CreateAnswerSchema,
    CreateServerSchema,
    ProjectQuerySchema,
    ServerSchema,
    UpdateServerSchema,
    job_href,
)

_CREATE, _ANSWER = CreateServerSchema(), CreateAnswerSchema()
_UPDATE, _SERVER = UpdateServerSchema(), ServerSchema()
_PROJECT = ProjectQuerySchema()


def idempotency_key_of(request: web.Request) -> str | None:
    """The request's Idempotency-Key, if it has one; 400 unless printable ASCII, 1 to 255 long."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise InvalidRequest("Idempotency-Key must be 1 to 255 printable characters.",
                             {"Idempotency-Key": ["Invalid value."]})
    return key


async def create_server(request: web.Request) -> web.Response:
    """Validate, queue a create job, answer 202 with the server id once Nova has given it."""
    project_id, body = await authorized_body(request, WRITES)
    key = idempotency_key_of(request)
    server = loaded(_CREATE, body, "The request body")
    server.pop("project_id")
    outcome = await request.app[SERVICES].writer.create(project_id, server, key, request[CALLER])
    return accepted(_ANSWER.dump(outcome), outcome.replayed)


async def delete_server(request: web.Request) -> web.Response:
    """Queue a delete job; 204 (again) while the server is being deleted; 404 if not there.

    ``Link: <job>; rel="monitor"`` names the delete job, where Nova's errors surface.
    """
    query = await authorized_query(request, _PROJECT, WRITES)
    project_id = query["project_id"]
    job_id = await request.app[SERVICES].writer.delete(project_id, server_id_of(request), request[CALLER])
    return web.Response(status=204, headers={"Link": f'<{job_href(project_id, job_id)}>; rel="monitor"'})


async def update_server(request: web.Request) -> web.Response:
    """Rename the server and/or replace its user metadata; Nova does it at once, and the answer
    is the server as Nova then shows it (written through to the list)."""
    query = await authorized_query(request, _PROJECT, WRITES)
    server_id = server_id_of(request)
    change = loaded(_UPDATE, await json_object(request), "The request body")
    server = await request.app[SERVICES].writer.update(query["project_id"], server_id, change.get("name"),
                                                       change.get("metadata"))
    return web.json_response(_SERVER.dump(server), headers={"Cache-Control": "no-store"}, dumps=encode)
