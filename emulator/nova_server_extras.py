"""Nova's routes around a server beyond its lifecycle: rename (``PUT /servers/{id}``), metadata
(``GET``, ``PUT`` (replace) and ``POST`` (merge) ``/servers/{id}/metadata``), the console log
(the ``os-getConsoleOutput`` action) and remote consoles (``POST /servers/{id}/remote-consoles``,
microversion 2.6 on), with Nova's answers and error texts."""
import uuid
from typing import Any

from aiohttp import web

from . import nova_views
from .api_errors import ApiError
from .cloud_records import Server
from .nova_paging import compute_base
from .state_keys import CLOUD

MAX_METADATA_ITEMS = 128  # Nova's default metadata_items quota
# The console types of each protocol, as Nova's remote-consoles schema has them.
CONSOLE_TYPES = {"vnc": ("novnc", "xvpvnc"), "spice": ("spice-html5",), "serial": ("serial",),
                 "rdp": ("rdp-html5",), "mks": ("webmks",)}
_METADATA_STATES = ("active", "paused", "suspended", "stopped")  # where update_all is allowed
_BOOT_LOG = ("[    0.000000] Linux version 6.1.0-cirros (builder@cirros) #1 SMP",
             "[    0.412000] Run /init as init process", "checking http://169.254.169.254/2009-04-04/instance-id",
             "successful after 1/20 tries: up 2.10. iid={id}", "=== cirros: current=0.6.2 uptime=3.12 ===",
             "login as 'cirros' user. default password: 'gocubsgo'. use 'sudo' for root.",
             "{name} login: ")


def add_routes(router: web.UrlDispatcher, server_of: Any) -> None:
    """Register the routes; ``server_of(request)`` is the project's server or Nova's 404."""
    async def update(request: web.Request) -> web.Response:
        return await update_server(request, server_of(request))

    async def show_metadata(request: web.Request) -> web.Response:
        return web.json_response({"metadata": dict(server_of(request).metadata)})

    async def replace_metadata(request: web.Request) -> web.Response:
        return await write_server_metadata(request, server_of(request), replace=True)

    async def merge_metadata(request: web.Request) -> web.Response:
        return await write_server_metadata(request, server_of(request), replace=False)

    async def remote_console(request: web.Request) -> web.Response:
        return await create_remote_console(request, server_of(request))

    router.add_put("/v2.1/servers/{server_id}", update)
    router.add_get("/v2.1/servers/{server_id}/metadata", show_metadata)
    router.add_put("/v2.1/servers/{server_id}/metadata", replace_metadata)
    router.add_post("/v2.1/servers/{server_id}/metadata", merge_metadata)
    router.add_post("/v2.1/servers/{server_id}/remote-consoles", remote_console)


async def _body(request: web.Request, key: str) -> Any:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "Malformed request body") from None
    if not isinstance(body, dict) or key not in body:
        raise ApiError(400, f"Invalid input for field/attribute {key}. Value: {body}. "
                            f"'{key}' is a required property")
    return body[key]


async def update_server(request: web.Request, server: Server) -> web.Response:
    """``PUT /servers/{id}`` ``{"server": {"name": …}}``: 200 with the server."""
    changes = await _body(request, "server")
    if not isinstance(changes, dict) or set(changes) - {"name", "description"}:
        raise ApiError(400, f"Invalid input for field/attribute server. Value: {changes}. "
                            "Additional properties are not allowed")
    name = changes.get("name", server.name)
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or name != name.strip():
        raise ApiError(400, f"Invalid input for field/attribute name. Value: {name}. "
                            f"{name!r} does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'")
    server.name = name
    server.updated_at = request.config_dict[CLOUD].clock.now()
    return web.json_response({"server": nova_views.server_detail(server, compute_base(request),
                                                                 request["microversion"])})


async def write_server_metadata(request: web.Request, server: Server, replace: bool) -> web.Response:
    """``PUT /servers/{id}/metadata`` (every item replaced) or ``POST`` (items added or changed)
    ``{"metadata": {…}}``: 200 with the server's metadata."""
    metadata = await _body(request, "metadata")
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and 1 <= len(k) <= 255 and len(v) <= 255
            for k, v in metadata.items()):
        raise ApiError(400, f"Invalid input for field/attribute metadata. Value: {metadata}.")
    result = dict(metadata) if replace else {**server.metadata, **metadata}
    if len(result) > MAX_METADATA_ITEMS:
        raise ApiError(403, f"Quota exceeded for metadata_items: Requested {len(result)}, but "
                            f"already used 0 of {MAX_METADATA_ITEMS} metadata_items")
    if server.task_state is not None or server.vm_state not in _METADATA_STATES:
        state = f"task_state {server.task_state}" if server.task_state else f"vm_state {server.vm_state}"
        method = "update_all" if replace else "update"
        raise ApiError(409, f"Cannot '{method}' instance {server.id} while it is in {state}")
    server.metadata = result
    server.updated_at = request.config_dict[CLOUD].clock.now()
    return web.json_response({"metadata": server.metadata})


def console_output(server: Server, length: Any) -> web.Response:
    """The ``os-getConsoleOutput`` action: the last ``length`` lines of the boot log (all of
    them for null or -1); 409 while the server is building."""
    if length is not None and (isinstance(length, bool) or not isinstance(length, int | str)
                               or not str(length).lstrip("-").isdigit() or int(length) < -1):
        raise ApiError(400, f"Invalid input for field/attribute length. Value: {length}.")
    if server.vm_state == "building":
        raise ApiError(409, f"Instance {server.id} is not ready.")
    lines = [line.format(id=server.id, name=server.name) for line in _BOOT_LOG]
    wanted = len(lines) if length is None or int(length) == -1 else min(int(length), len(lines))
    kept = lines[len(lines) - wanted:]
    return web.json_response({"output": "\n".join(kept)})


async def create_remote_console(request: web.Request, server: Server) -> web.Response:
    """``POST /servers/{id}/remote-consoles`` (2.6 on): a console URL with a one-time token;
    400 for a console type the cloud does not offer, 409 unless the server is running."""
    if request["microversion"] < (2, 6):
        raise ApiError(404, "The resource could not be found.", kind="itemNotFound")
    console = await _body(request, "remote_console")
    if not isinstance(console, dict):
        console = {}
    protocol, kind = console.get("protocol"), console.get("type")
    if protocol not in CONSOLE_TYPES or kind not in CONSOLE_TYPES[protocol]:
        raise ApiError(400, f"Invalid input for field/attribute remote_console. Value: {console}.")
    if protocol not in request.config_dict[CLOUD].config.consoles:
        raise ApiError(400, f"Unavailable console type {kind}.")
    if server.vm_state != "active":
        raise ApiError(409, f"Instance {server.id} is not ready.")
    path = {"novnc": "/vnc_auto.html?path=%3Ftoken%3D", "serial": "/?token=",
            "spice-html5": "/spice_auto.html?token="}.get(kind, "/?token=")
    url = f"{request.url.origin()}/console/{protocol}{path}{uuid.uuid4()}"
    return web.json_response({"remote_console": {"protocol": protocol, "type": kind, "url": url}})
