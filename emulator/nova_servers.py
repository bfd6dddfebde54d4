"""Nova's ``/servers`` routes: boot, list (detail, changes-since, paging), show, delete, actions
(and, from ``nova_server_extras``, rename, metadata and consoles)."""
import re
import secrets
from typing import Any, NoReturn

from aiohttp import web

from . import lifecycle, nova_long_actions, nova_server_extras, nova_views, nova_volume_attachments
from .api_errors import ApiError
from .clock import parse_isotime, whole_seconds
from .cloud import Cloud, ServerRequest
from .cloud_records import Server
from .nova_paging import compute_base, paged_response
from .server_request import parse_server_request
from .service import outage
from .state_keys import CLOUD

# Query parameters Nova's schema knows; from 2.75 on anything else is a 400.
KNOWN_QUERY = frozenset((
    "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image", "kernel_id",
    "ramdisk_id", "hostname", "key_name", "power_state", "vm_state", "task_state", "host",
    "node", "flavor", "reservation_id", "launched_at", "terminated_at", "availability_zone",
    "name", "display_name", "description", "display_description", "locked_by", "uuid",
    "root_device_name", "config_drive", "access_ip_v4", "access_ip_v6", "auto_disk_config",
    "progress", "sort_key", "sort_dir", "all_tenants", "soft_deleted", "deleted", "status",
    "changes-since", "changes-before", "ip", "ip6", "tag", "tags", "tag-any", "tags-any",
    "not-tags", "not-tags-any", "limit", "marker", "locked", "created_at", "updated_at",
    "pinned_availability_zone",
))


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the server routes on the Nova sub-application."""
    router.add_get("/v2.1/servers", list_servers)
    router.add_get("/v2.1/servers/detail", list_servers_detail)
    router.add_post("/v2.1/servers", create_server)
    router.add_get("/v2.1/servers/{server_id}", show_server)
    router.add_delete("/v2.1/servers/{server_id}", delete_server)
    router.add_post("/v2.1/servers/{server_id}/action", server_action)
    nova_server_extras.add_routes(router, _server_or_404)
    nova_volume_attachments.add_routes(router, _server_or_404)


def _down_cell(request: web.Request) -> bool:
    faults = request.get("faults")
    return bool(faults and faults.down_cell)


def _listed_servers(request: web.Request) -> list[Server]:
    """The project's servers that match the query, newest first, as Nova orders them."""
    cloud: Cloud = request.config_dict[CLOUD]
    query = request.query
    if request["microversion"] >= (2, 75):
        unknown = sorted(set(query) - KNOWN_QUERY)
        if unknown:
            raise ApiError(400, f"Invalid input for query parameters {unknown[0]}. "
                                "Additional properties are not allowed")
    every_project = _all_tenants(request)
    servers = cloud.all_servers() if every_project else cloud.project_servers(request["project_id"])
    since = _time_param(request, "changes-since")
    before = _time_param(request, "changes-before") if request["microversion"] >= (2, 66) else None
    if since is not None:  # changes-since also reports what was deleted
        servers += (cloud.all_tombstones() if every_project
                    else cloud.project_tombstones(request["project_id"]))
        servers = [s for s in servers if whole_seconds(s.updated_at) >= since]
    if before is not None:
        servers = [s for s in servers if whole_seconds(s.updated_at) <= before]
    if "status" in query:
        wanted = query["status"].upper()
        if wanted == "DELETED":
            raise ApiError(403, "Only administrators may list deleted instances")
        servers = [s for s in servers if lifecycle.status_of(s) == wanted]
    if "name" in query:
        servers = [s for s in servers if _name_matches(query["name"], s.name)]
    servers.sort(key=lambda s: (s.created_at, s.id), reverse=True)
    return servers


_TRUE = frozenset(("1", "t", "true", "on", "y", "yes", ""))
_FALSE = frozenset(("0", "f", "false", "off", "n", "no"))


def _all_tenants(request: web.Request) -> bool:
    """Whether the listing covers every project: ``all_tenants`` read as Nova reads it (an empty
    value enables it), allowed to admins only, as Nova's default policy has it."""
    raw = request.query.get("all_tenants")
    if raw is None or raw.lower() in _FALSE:
        return False
    if raw.lower() not in _TRUE:
        raise ApiError(400, f"Invalid input for query parameters all_tenants. Value: {raw}.")
    if not request.config_dict[CLOUD].users[request["token"].user_id].admin:
        detail = "detail:" if request.path.endswith("/detail") else "index:"
        raise ApiError(403, f"Policy doesn't allow os_compute_api:servers:{detail}get_all_tenants "
                            "to be performed.")
    return True


def _name_matches(pattern: str, name: str) -> bool:
    """Nova filters names with a regular expression search (SQL REGEXP)."""
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return pattern in name


def _time_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return whole_seconds(parse_isotime(raw))
    except ValueError:
        raise ApiError(400, f"Invalid input for query parameters {name}. "
                            f"Value: {raw}. '{raw}' is not a 'date-time'") from None


def _render_list(request: web.Request, detail: bool) -> web.Response:
    base, version = compute_base(request), request["microversion"]
    servers = _listed_servers(request)
    down = _down_cell(request)
    if down and version < (2, 69):  # before 2.69 Nova silently leaves such servers out
        servers = []

    def render(server: Server) -> dict[str, Any]:
        if down:
            return nova_views.partial_server(server, base, detail=False)
        if detail:
            return nova_views.server_detail(server, base, version)
        return nova_views.server_summary(server, base)

    return paged_response(request, "servers", servers, lambda s: s.id, render)


async def list_servers(request: web.Request) -> web.Response:
    """``GET /servers``: ids, names and links."""
    return _render_list(request, detail=False)


async def list_servers_detail(request: web.Request) -> web.Response:
    """``GET /servers/detail``: full server bodies."""
    return _render_list(request, detail=True)


def _server_or_404(request: web.Request) -> Server:
    server_id = request.match_info["server_id"]
    server = request.config_dict[CLOUD].server(request["project_id"], server_id)
    if server is None:
        raise ApiError(404, f"Instance {server_id} could not be found.")
    return server


async def show_server(request: web.Request) -> web.Response:
    """``GET /servers/{id}``."""
    server = _server_or_404(request)
    base, version = compute_base(request), request["microversion"]
    if _down_cell(request):
        if version < (2, 69):
            raise ApiError(503, "Cell is not responding and hence instance info is not available.")
        return web.json_response({"server": nova_views.partial_server(server, base, detail=True)})
    return web.json_response({"server": nova_views.server_detail(server, base, version)})


async def delete_server(request: web.Request) -> web.Response:
    """``DELETE /servers/{id}``: 204 at once; the server goes away after the delete delay."""
    request.config_dict[CLOUD].delete_server(_server_or_404(request))
    return web.Response(status=204)


async def server_action(request: web.Request) -> web.Response:
    """``POST /servers/{id}/action`` with ``os-stop``, ``os-start`` or ``reboot``: 202, then the
    server moves through the action's task state in emulated time; 409 in the wrong state."""
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "Malformed request body") from None
    if not isinstance(body, dict) or len(body) != 1:
        raise ApiError(400, "Malformed request body")
    [(name, argument)] = body.items()
    if name in nova_long_actions.LONG_ACTIONS:
        return nova_long_actions.long_action(request, _server_or_404(request), name, argument)
    if name == "os-getConsoleOutput":  # a read, answered at once
        return nova_server_extras.console_output(_server_or_404(request), (argument or {}).get("length"))
    if name in ("os-stop", "os-start"):
        action = name.removeprefix("os-")
    elif name == "reboot" and isinstance(argument, dict) and argument.get("type") in ("SOFT", "HARD"):
        action = f"reboot {argument['type']}"
    elif name == "reboot":
        raise ApiError(400, "Invalid input for field/attribute type. Value: "
                            f"{(argument or {}).get('type')}. 'type' must be one of SOFT, HARD")
    else:
        raise ApiError(400, f"There is no such action: {name}")
    request.config_dict[CLOUD].act_on_server(_server_or_404(request), action)
    return web.Response(status=202)


async def create_server(request: web.Request) -> web.StreamResponse:
    """``POST /servers``: validate like Nova, accept with 202, build in emulated time."""
    cloud: Cloud = request.config_dict[CLOUD]
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "Malformed request body") from None
    server_request: ServerRequest = parse_server_request(cloud, request["token"], body,
                                                         request["microversion"])
    project = cloud.projects[request["project_id"]]
    used = cloud.used_instances(project.id)
    if used + 1 > project.quota_instances:
        raise ApiError(403, "Quota exceeded for instances: Requested 1, but already used "
                            f"{used} of {project.quota_instances} instances")
    server = cloud.create_server(project.id, request["token"].user_id, server_request)
    faults = request.get("faults")
    if faults is not None and faults.take_ambiguous_create():
        _ambiguous_answer(request, faults.ambiguous_mode)
    server_links = nova_views.links(compute_base(request), "servers", server.id)
    body = {"server": {"id": server.id, "links": server_links,
                       "OS-DCF:diskConfig": "MANUAL",
                       "security_groups": [{"name": name} for name in server.security_groups],
                       "adminPass": secrets.token_urlsafe(9)}}
    return web.json_response(body, status=202, headers={"Location": server_links[0]["href"]})


def _ambiguous_answer(request: web.Request, mode: str) -> NoReturn:
    """The server was created, but the client hears a failure (a proxy timeout or a reset)."""
    if mode == "drop" and request.transport is not None:
        request.transport.abort()
    raise outage()  # after a drop it never reaches the client: the socket is gone
