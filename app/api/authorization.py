"""Who may ask what, at the edge: the bearer token, then the request's project."""
from typing import Any

from aiohttp import web
from marshmallow import Schema

from ..access.tokens import ApiToken
from ..logs import project_id_var
from .appkeys import ACCESS

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cloud-servers"'}


def caller_of(request: web.Request) -> ApiToken:
    """The token the request carries; 401 without a valid one."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    token = None
    if scheme.lower() == "bearer" and presented.strip():
        token = request.app[ACCESS].authenticate(presented.strip())
    if token is None:
        raise web.HTTPUnauthorized(headers=_CHALLENGE,
                                   text="A valid bearer token is required: Authorization: Bearer <token>.")
    return token


def authorized_query(request: web.Request, schema: Schema) -> dict[str, Any]:
    """The request's query, loaded by ``schema``, once the caller may act on its project.

    401 without a valid token, 400 for bad parameters, 403 for a project outside the token's
    scope, 404 for a project with no OpenStack credentials configured.
    """
    caller = caller_of(request)
    query: dict[str, Any] = schema.load(dict(request.query))
    check_project(request, caller, query["project_id"])
    return query


def check_project(request: web.Request, caller: ApiToken, project_id: str) -> None:
    """403 for a project outside the caller's scope, 404 for one without credentials."""
    request.app[ACCESS].authorize(caller, project_id)
    project_id_var.set(project_id)
