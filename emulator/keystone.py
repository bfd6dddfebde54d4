"""Keystone v3: version discovery, password / application-credential / token auth, the catalog."""
from typing import Any

from aiohttp import web

from .api_errors import ApiError
from .clock import keystone_isotime
from .cloud import Cloud
from .cloud_records import Project, Token, User
from .state_keys import CLOUD

V3_UPDATED = "2024-04-01T00:00:00Z"
# (service type, service name, path below the emulator's root)
SERVICES = (
    ("identity", "keystone", ""),
    ("compute", "nova", "/compute/v2.1"),
    ("image", "glance", "/image"),
    ("network", "neutron", "/networking"),
    ("volumev3", "cinderv3", "/volume/v3/{project_id}"),  # Keystone fills in the token's project
)
DOMAIN = {"id": "default", "name": "Default"}
ROLES = [{"id": "9fe2ff9ee4384b1894a90878d3e92bab", "name": "member"},
         {"id": "0b5e5e5e9e4a4d6a8f7c9a1b2c3d4e5f", "name": "reader"}]
ADMIN_ROLE = {"id": "5a2f0c1d9e8b4c7a9d6e3f2a1b0c9d8e", "name": "admin"}


def render_error(error: ApiError) -> web.Response:
    """Keystone's error document."""
    title = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
             404: "Not Found"}.get(error.status, "Error")
    return web.json_response(
        {"error": {"code": error.status, "title": title, "message": error.message}},
        status=error.status, headers=error.headers)


def routes() -> web.RouteTableDef:
    """Keystone's routes, mounted at the emulator's root."""
    table = web.RouteTableDef()
    table.get("/")(versions)
    table.get("/v3")(version)
    table.get("/v3/")(version)
    table.post("/v3/auth/tokens")(issue_token)
    table.get("/v3/auth/tokens")(validate_token)
    table.delete("/v3/auth/tokens")(revoke_token)
    return table


def _version_document(request: web.Request) -> dict[str, Any]:
    return {
        "id": "v3.14", "status": "stable", "updated": V3_UPDATED,
        "links": [{"rel": "self", "href": f"{request.url.origin()}/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}],
    }


async def versions(request: web.Request) -> web.Response:
    """``GET /``: the identity API versions (Keystone answers 300)."""
    return web.json_response({"versions": {"values": [_version_document(request)]}}, status=300)


async def version(request: web.Request) -> web.Response:
    """``GET /v3``: the v3 version document."""
    return web.json_response({"version": _version_document(request)})


async def issue_token(request: web.Request) -> web.Response:
    """``POST /v3/auth/tokens``: authenticate and answer a project-scoped token."""
    cloud = request.config_dict[CLOUD]
    try:
        body = await request.json()
        identity = body["auth"]["identity"]
        methods = list(identity["methods"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "Expecting to find auth.identity.methods in request body.") from None
    user, project, extra = _authenticate(cloud, identity, methods, body["auth"].get("scope"))
    token = cloud.issue_token(user, project, methods)
    request["project_id"] = project.id  # attributes the call in the request log
    document = _token_document(request, cloud, token, user, project, extra)
    return web.json_response(document, status=201, headers={"X-Subject-Token": token.id})


def _subject_token(request: web.Request) -> Token:
    """The valid token named by ``X-Subject-Token``, asked about with a valid ``X-Auth-Token``."""
    cloud = request.config_dict[CLOUD]
    if cloud.valid_token(request.headers.get("X-Auth-Token")) is None:
        raise ApiError(401, "The request you have made requires authentication.")
    subject = cloud.valid_token(request.headers.get("X-Subject-Token"))
    if subject is None:
        raise ApiError(404, "Could not find token.")
    return subject


async def validate_token(request: web.Request) -> web.Response:
    """``GET /v3/auth/tokens``: validate the token named by ``X-Subject-Token``."""
    cloud = request.config_dict[CLOUD]
    subject = _subject_token(request)
    user, project = cloud.users[subject.user_id], cloud.projects[subject.project_id]
    document = _token_document(request, cloud, subject, user, project, {})
    return web.json_response(document, headers={"X-Subject-Token": subject.id})


async def revoke_token(request: web.Request) -> web.Response:
    """``DELETE /v3/auth/tokens``: revoke the token named by ``X-Subject-Token``."""
    _subject_token(request).revoked = True
    return web.Response(status=204)


def _authenticate(cloud: Cloud, identity: dict[str, Any], methods: list[str],
                  scope: dict[str, Any] | None) -> tuple[User, Project, dict[str, Any]]:
    if "application_credential" in methods:
        return _authenticate_application_credential(cloud, identity, scope)
    if "password" in methods:
        user = _password_user(cloud, identity.get("password", {}).get("user", {}))
    elif "token" in methods:
        token = cloud.valid_token(identity.get("token", {}).get("id"))
        if token is None:
            raise ApiError(401, "The request you have made requires authentication.")
        user = cloud.users[token.user_id]
    else:
        raise ApiError(401, f"Attempted to authenticate with an unsupported method: {methods}.")
    return user, _scoped_project(cloud, user, scope), {}


def _password_user(cloud: Cloud, ref: dict[str, Any]) -> User:
    domain = ref.get("domain") or {}
    user = cloud.find_user(ref.get("id"), ref.get("name"), domain.get("id") or domain.get("name"))
    if user is None or user.password != ref.get("password"):
        raise ApiError(401, "The request you have made requires authentication.")
    return user


def _scoped_project(cloud: Cloud, user: User, scope: dict[str, Any] | None) -> Project:
    if not scope:  # like a user with a default project: scoped to it
        return cloud.projects[user.project_id]
    ref = scope.get("project")
    if not isinstance(ref, dict):
        raise ApiError(400, "Only project scope is supported by this cloud.")
    project = cloud.find_project(ref.get("id"), ref.get("name"))
    if project is None or project.id != user.project_id:
        target = ref.get("id") or ref.get("name")
        raise ApiError(401, f"User {user.id} has no access to project {target}")
    return project


def _authenticate_application_credential(
        cloud: Cloud, identity: dict[str, Any], scope: dict[str, Any] | None,
) -> tuple[User, Project, dict[str, Any]]:
    ref = identity.get("application_credential", {})
    if scope:
        raise ApiError(401, "Application credentials cannot request a scope.")
    credential = cloud.app_credentials.get(ref.get("id", ""))
    if credential is None and ref.get("name"):
        user_ref = ref.get("user", {})
        owner = cloud.find_user(user_ref.get("id"), user_ref.get("name"),
                                (user_ref.get("domain") or {}).get("name"))
        credential = next((c for c in (cloud.app_credentials.group(owner.id) if owner else [])
                           if c.name == ref["name"]), None)
    if credential is None or credential.secret != ref.get("secret"):
        raise ApiError(401, "The request you have made requires authentication.")
    extra = {"application_credential": {"id": credential.id, "name": credential.name,
                                        "restricted": True}}
    return cloud.users[credential.user_id], cloud.projects[credential.project_id], extra


def _token_document(request: web.Request, cloud: Cloud, token: Token, user: User,
                    project: Project, extra: dict[str, Any]) -> dict[str, Any]:
    body = {
        "methods": token.methods,
        "user": {"id": user.id, "name": user.name, "domain": DOMAIN, "password_expires_at": None},
        "audit_ids": [token.id[:22]],
        "issued_at": keystone_isotime(token.issued_at),
        "expires_at": keystone_isotime(token.expires_at),
        "project": {"id": project.id, "name": project.name, "domain": DOMAIN},
        "is_domain": False,
        "roles": [*ROLES, ADMIN_ROLE] if user.admin else ROLES,
        "catalog": catalog(str(request.url.origin()), cloud.config.region, project.id,
                           with_cinder=cloud.config.with_cinder),
        **extra,
    }
    return {"token": body}


def catalog(origin: str, region: str, project_id: str, *, with_cinder: bool = True) -> list[dict[str, Any]]:
    """The service catalog: public and internal endpoints of each service, with the project's
    id in the URLs that carry one (Cinder's)."""
    entries = []
    for number, (kind, name, path) in enumerate(SERVICES):
        if kind == "volumev3" and not with_cinder:
            continue
        endpoints = [{"id": f"{number}{interface[0]}" * 4, "interface": interface,
                      "region": region, "region_id": region,
                      "url": f"{origin}{path.format(project_id=project_id)}"}
                     for interface in ("public", "internal")]
        entries.append({"id": f"{number:032x}", "type": kind, "name": name,
                        "endpoints": endpoints})
    return entries
