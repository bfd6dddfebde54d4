"""Who may ask what, at the edge: the bearer token, then the request's project."""
import functools
import re
from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError

from ..access.scope import Caller
from ..core.errors import InvalidRequest
from ..core.logs import project_id_var
from .appkeys import ACCESS, CALLER, ROLES

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cloud-servers"'}


async def caller_of(request: web.Request) -> Caller:
    """Who the request's bearer token (static or JWT) names; 401 without a valid one."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    caller = None
    if scheme.lower() == "bearer" and presented.strip():
        caller = await request.app[ACCESS].authenticate(presented.strip())
    if caller is None:
        raise web.HTTPUnauthorized(headers=_CHALLENGE,
                                   text="A valid bearer token is required: Authorization: Bearer <token>.")
    request[CALLER] = caller.name
    return caller


def needed_role(request: web.Request) -> str:
    """The role the matched operation needs (the route table says)."""
    method = "GET" if request.method == "HEAD" else request.method
    return request.app[ROLES][(method, request.match_info.route.resource.canonical)]  # type: ignore[union-attr]


async def authorized_query(request: web.Request, schema: Schema,
                           limit: str | None = None) -> dict[str, Any]:
    """The request's query, loaded by ``schema``, once the caller may act on its project.

    401 without a valid token, 400 for bad or repeated parameters, 403 for a project outside the
    token's scope, 404 for a project with no OpenStack credentials configured, 429 past the
    caller's ``limit`` (writes, live reads).
    """
    caller = await caller_of(request)
    query: dict[str, Any]
    plain = _PLAIN_PROJECT_QUERY.fullmatch(request.query_string)
    if plain is not None and _loads_project_alone(schema):
        query = {"project_id": plain.group(1)}  # what loading it would give
    else:
        query = schema.load(single_valued(request))
    await check_project(request, caller, query["project_id"], limit)
    return query


# ``?project_id=`` alone, in the canonical form a ProjectId field loads (the hot path: no schema)
_PLAIN_PROJECT_QUERY = re.compile("project_id=([0-9a-f]{32})")


@functools.cache
def _loads_project_alone(schema: Schema) -> bool:
    """Whether ``schema`` loads a canonical project id alone as just that (no defaults added)."""
    sample = {"project_id": "0" * 32}
    try:
        return bool(schema.load(sample) == sample)
    except ValidationError:
        return False


def single_valued(request: web.Request) -> dict[str, str]:
    """The query as a plain mapping; 400 if a parameter is given twice (the request is ambiguous)."""
    repeated = sorted({name for name in request.query if len(request.query.getall(name)) > 1})
    if repeated:
        raise InvalidRequest("A query parameter is given more than once.",
                             {name: ["Given more than once."] for name in repeated})
    return dict(request.query)


async def check_project(request: web.Request, caller: Caller, project_id: str,
                        limit: str | None = None) -> None:
    """403 for a project outside the caller's scope or a role that does not allow the request,
    404 for one without credentials, 429 past the caller's ``limit``."""
    access = request.app[ACCESS]
    access.authorize(caller, project_id, needed_role(request))
    project_id_var.set(project_id)
    if limit is not None:
        await access.throttle(caller, limit)
