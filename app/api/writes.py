"""``POST /cloud/servers``, ``DELETE /cloud/servers/{id}`` and ``GET /cloud/jobs/{id}``."""
import json

from aiohttp import web
from marshmallow import ValidationError

from ..errors import InvalidRequest, NotFound, UnprocessableRequest
from ..schemas import CreateServerSchema, ProjectQuerySchema
from .access import authorized_query, caller_of, check_project
from .keys import JOB_STORE, WRITER
from .problems import flatten_messages

_CREATE = CreateServerSchema()
_PROJECT = ProjectQuerySchema()
MAX_IDEMPOTENCY_KEY = 255


async def _json_object(request: web.Request) -> dict:
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
        raise UnprocessableRequest("The request body is invalid.",
                                   flatten_messages(error.normalized_messages())) from None
    server.pop("project_id")
    answer = await request.app[WRITER].create(project_id, server, key)
    return web.json_response(answer, status=202, headers={"Location": answer["job"]["href"]})


async def delete_server(request: web.Request) -> web.Response:
    """Queue a delete job; 204 (again) while the server is being deleted; 404 if not there."""
    query = authorized_query(request, _PROJECT)
    await request.app[WRITER].delete(query["project_id"], request.match_info["server_id"])
    return web.Response(status=204)


async def show_job(request: web.Request) -> web.Response:
    """A job of the project; another project's job is a 404."""
    query = authorized_query(request, _PROJECT)
    job_id = request.match_info["job_id"]
    job = await request.app[JOB_STORE].get(query["project_id"], job_id) if len(job_id) <= 64 else None
    if job is None:
        raise NotFound(f"Job {job_id} does not exist in project {query['project_id']}.")
    return web.json_response(job.public())
