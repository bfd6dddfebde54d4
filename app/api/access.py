"""Who may ask what: the bearer token, the request's project, and its credentials."""
from typing import Any

from aiohttp import web
from marshmallow import Schema

from ..errors import UnknownProject
from ..logs import project_id_var
from ..tokens import ApiToken
from .keys import DIRECTORY, TOKENS

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cloud-servers"'}


def caller_of(request: web.Request) -> ApiToken:
    """The token the request carries; 401 without a valid one."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    token = None
    if scheme.lower() == "bearer" and presented.strip():
        token = request.app[TOKENS].authenticate(presented.strip())
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
    query = schema.load(dict(request.query))
    check_project(request, caller, query["project_id"])
    return query


def check_project(request: web.Request, caller: ApiToken, project_id: str) -> None:
    """403 for a project outside the caller's scope, 404 for one without credentials."""
    if not caller.allows(project_id):
        raise web.HTTPForbidden(text=f"The token '{caller.name}' may not use project {project_id}.")
    if not request.app[DIRECTORY].knows(project_id):
        raise UnknownProject(f"No OpenStack credentials are configured for project {project_id}.")
    project_id_var.set(project_id)
