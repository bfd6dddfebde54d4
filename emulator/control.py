"""The control API under ``/_emulator/``: projects, faults, the clock and the request log."""
from typing import Any

from aiohttp import web

from .api_errors import ApiError
from .cloud import Cloud
from .cloud_records import Project, Server
from .faults import Faults
from .lifecycle import FORCEABLE_STATUSES, force_status
from .seeding import access_document, seed_project
from .state_keys import CLOUD, FAULTS, REQUEST_LOG


def routes() -> web.RouteTableDef:
    """The control routes, mounted at the emulator's root."""
    table = web.RouteTableDef()
    table.get("/_emulator/health")(health)
    table.post("/_emulator/projects")(create_project)
    table.post("/_emulator/admin")(admin_access)
    table.patch("/_emulator/projects/{project_id}")(update_project)
    table.post("/_emulator/projects/{project_id}/images")(add_private_image)
    table.post("/_emulator/projects/{project_id}/security-groups")(add_security_group)
    table.get("/_emulator/faults/{key}")(show_faults)
    table.put("/_emulator/faults/{key}")(set_faults)
    table.delete("/_emulator/faults/{key}")(clear_faults)
    table.post("/_emulator/clock")(advance_clock)
    table.get("/_emulator/requests")(list_requests)
    table.get("/_emulator/servers/{server_id}")(inspect_server)
    table.patch("/_emulator/servers/{server_id}")(update_server)
    table.delete("/_emulator/servers/{server_id}")(remove_server)
    table.post("/_emulator/tokens/revoke")(revoke_tokens)
    return table


async def _json_object(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def auth_url(request: web.Request) -> str:
    """The Keystone URL clients of this emulator authenticate against."""
    return f"{request.url.origin()}/v3"


async def health(request: web.Request) -> web.Response:
    """``GET /_emulator/health``: alive, with the emulated time and the tokens Keystone issued."""
    cloud = request.app[CLOUD]
    return web.json_response({"status": "ok", "now": cloud.clock.now(), "tokens_issued": len(cloud.tokens)})


async def create_project(request: web.Request) -> web.Response:
    """``POST /_emulator/projects``: a seeded project and the credentials to reach it."""
    body = await _json_object(request)
    cloud: Cloud = request.app[CLOUD]
    try:
        access = seed_project(cloud, body.get("name"), int(body.get("servers", 0)),
                              body.get("quota_instances"))
    except (TypeError, ValueError) as error:
        raise ApiError(400, str(error)) from None
    if "build_error_rate" in body:
        cloud.build_error_rates[access.project.id] = float(body["build_error_rate"])
    document = access_document(access, auth_url(request), cloud.config.region)
    return web.json_response(document, status=201)


async def admin_access(request: web.Request) -> web.Response:
    """``POST /_emulator/admin``: the credentials of the cloud's administrator (an ``admin`` project
    whose user holds the admin role), made on the first call."""
    cloud: Cloud = request.app[CLOUD]
    document = access_document(cloud.admin_access(), auth_url(request), cloud.config.region)
    return web.json_response(document)


def _project(request: web.Request) -> Project:
    project = request.app[CLOUD].projects.get(request.match_info["project_id"])
    if project is None:
        raise ApiError(404, "no such project")
    return project


async def update_project(request: web.Request) -> web.Response:
    """``PATCH /_emulator/projects/{id}``: change ``quota_instances`` or ``build_error_rate``."""
    cloud: Cloud = request.app[CLOUD]
    project = _project(request)
    body = await _json_object(request)
    if "quota_instances" in body:
        project.quota_instances = int(body["quota_instances"])
    if "quota_volume_gb" in body:
        project.quota_volume_gb = int(body["quota_volume_gb"])
    if "build_error_rate" in body:
        cloud.build_error_rates[project.id] = float(body["build_error_rate"])
    return web.json_response({"project_id": project.id, "quota_instances": project.quota_instances,
                              "quota_volume_gb": project.quota_volume_gb,
                              "build_error_rate": cloud.build_error_rates.get(project.id)})


async def add_security_group(request: web.Request) -> web.Response:
    """``POST /_emulator/projects/{id}/security-groups`` ``{"name", "description"?, "rules"?}``:
    a group made outside the API; each rule ``{direction, protocol?, port_range_min?,
    port_range_max?, remote_ip_prefix?}``."""
    project = _project(request)
    body = await _json_object(request)
    rules = body.get("rules", [])
    if not isinstance(body.get("name"), str) or not body["name"] or not isinstance(rules, list):
        raise ApiError(400, "name must be a non-empty string and rules a list")
    group = request.app[CLOUD].add_security_group(project.id, body["name"],
                                                  str(body.get("description", "")), rules)
    return web.json_response({"id": group.id, "name": group.name}, status=201)


async def inspect_server(request: web.Request) -> web.Response:
    """``GET /_emulator/servers/{id}``: what Nova keeps that its API does not show (when its
    create request came, as a UNIX time; user data as sent, base64; security groups; volumes)."""
    server = _server(request)
    return web.json_response({"id": server.id, "created_at": server.created_at,
                              "user_data": server.user_data,
                              "security_groups": server.security_groups,
                              "volumes": [{"id": v.id, "delete_on_termination": v.delete_on_termination}
                                          for v in server.volumes]})


async def add_private_image(request: web.Request) -> web.Response:
    """``POST /_emulator/projects/{id}/images`` ``{"name", "min_disk"?, "min_ram"?}``: an image
    uploaded to the project outside the API."""
    project = _project(request)
    body = await _json_object(request)
    if not isinstance(body.get("name"), str) or not body["name"]:
        raise ApiError(400, "name must be a non-empty string")
    try:
        sizes = {field: int(body.get(field, 0)) for field in ("min_disk", "min_ram")}
    except (TypeError, ValueError) as error:
        raise ApiError(400, str(error)) from None
    image = request.app[CLOUD].add_image(body["name"], owner=project.id, visibility="private", **sizes)
    return web.json_response({"id": image.id, "name": image.name}, status=201)


async def show_faults(request: web.Request) -> web.Response:
    """``GET /_emulator/faults/{project_id|*}``."""
    faults = request.app[FAULTS].get(request.match_info["key"])
    return web.json_response(faults.to_json() if faults else {})


async def set_faults(request: web.Request) -> web.Response:
    """``PUT /_emulator/faults/{project_id|*}``: replace the faults in force."""
    try:
        faults = Faults.from_json(await _json_object(request))
    except (TypeError, ValueError) as error:
        raise ApiError(400, str(error)) from None
    request.app[FAULTS].set(request.match_info["key"], faults)
    return web.json_response(faults.to_json())


async def clear_faults(request: web.Request) -> web.Response:
    """``DELETE /_emulator/faults/{project_id|*}``."""
    request.app[FAULTS].clear(request.match_info["key"])
    return web.Response(status=204)


async def advance_clock(request: web.Request) -> web.Response:
    """``POST /_emulator/clock`` ``{"advance": seconds}``: move emulated time forward."""
    body = await _json_object(request)
    try:
        now = request.app[CLOUD].clock.advance(float(body.get("advance", 0)))
    except (TypeError, ValueError) as error:
        raise ApiError(400, str(error)) from None
    return web.json_response({"now": now})


async def list_requests(request: web.Request) -> web.Response:
    """``GET /_emulator/requests?project_id=&service=&after=``: the request log."""
    log = request.app[REQUEST_LOG]
    query = request.query
    try:
        after = int(query.get("after", 0))
    except ValueError:
        raise ApiError(400, "after must be an integer") from None
    entries = log.query(query.get("project_id"), query.get("service"), after)
    return web.json_response({"last_seq": log.last_seq, "requests": entries})


def _server(request: web.Request) -> Server:
    cloud: Cloud = request.app[CLOUD]
    server = cloud.servers.get(request.match_info["server_id"])
    if server is None or cloud.server(server.project_id, server.id) is None:
        raise ApiError(404, "no such server")
    return server


async def update_server(request: web.Request) -> web.Response:
    """``PATCH /_emulator/servers/{id}`` ``{"status": "SHUTOFF"}``: a change made outside the API."""
    server = _server(request)
    status = (await _json_object(request)).get("status")
    if status not in FORCEABLE_STATUSES:
        raise ApiError(400, f"status must be one of {sorted(FORCEABLE_STATUSES)}")
    force_status(server, status, request.app[CLOUD].clock.now())
    return web.json_response({"id": server.id, "status": status})


async def remove_server(request: web.Request) -> web.Response:
    """``DELETE /_emulator/servers/{id}``: the server vanishes at once (deleted by an operator)."""
    request.app[CLOUD].remove_server_now(_server(request))
    return web.Response(status=204)


async def revoke_tokens(request: web.Request) -> web.Response:
    """``POST /_emulator/tokens/revoke`` ``{"project_id"?}``: every such token answers 401 from now."""
    body = await _json_object(request)
    revoked = request.app[CLOUD].revoke_tokens(body.get("project_id"))
    return web.json_response({"revoked": revoked})
