"""Neutron v2.0: version discovery, networks, subnets and security groups with field filters
and paging."""
import ipaddress
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .api_errors import ApiError
from .clock import isotime
from .cloud_records import Network, SecurityGroup, Subnet
from .paging import page, parse_limit
from .service import public, service_app
from .state_keys import CLOUD

_NOT_FILTERS = {"limit", "marker", "fields", "sort_key", "sort_dir", "page_reverse"}


def render_error(error: ApiError) -> web.Response:
    """Neutron's error document."""
    kind = error.kind or {400: "BadRequest", 404: "NotFound", 409: "Conflict",
                          429: "OverQuota"}.get(error.status, "HTTPError")
    return web.json_response(
        {"NeutronError": {"type": kind, "message": error.message, "detail": ""}},
        status=error.status, headers=error.headers)


def create_app() -> web.Application:
    """The Neutron sub-application, mounted at ``/networking``."""
    app = service_app("network", render_error)
    app.router.add_get("/", versions)
    app.router.add_get("/v2.0", resources)
    app.router.add_get("/v2.0/", resources)
    app.router.add_get("/v2.0/networks", list_networks)
    app.router.add_get("/v2.0/networks/{item_id}", show_network)
    app.router.add_get("/v2.0/subnets", list_subnets)
    app.router.add_get("/v2.0/subnets/{item_id}", show_subnet)
    app.router.add_get("/v2.0/security-groups", list_security_groups)
    app.router.add_get("/v2.0/security-groups/{item_id}", show_security_group)
    return app


def _base(request: web.Request) -> str:
    return f"{request.url.origin()}/networking/v2.0"


@public
async def versions(request: web.Request) -> web.Response:
    """``GET /networking/``: the one API version."""
    return web.json_response({"versions": [{"status": "CURRENT", "id": "v2.0", "links": [
        {"href": f"{_base(request)}/", "rel": "self"}]}]})


async def resources(request: web.Request) -> web.Response:
    """``GET /networking/v2.0``: the collections this emulator serves."""
    return web.json_response({"resources": [
        {"name": name, "collection": f"{name}s",
         "links": [{"href": f"{_base(request)}/{name}s", "rel": "self"}]}
        for name in ("network", "subnet", "security-group")]})


def network_body(network: Network) -> dict[str, Any]:
    """Neutron's network document."""
    body = {
        "id": network.id, "name": network.name, "tenant_id": network.project_id,
        "project_id": network.project_id, "admin_state_up": True, "mtu": network.mtu,
        "status": network.status, "subnets": list(network.subnet_ids), "shared": network.shared,
        "router:external": network.external, "availability_zone_hints": [],
        "availability_zones": ["nova"], "ipv4_address_scope": None, "ipv6_address_scope": None,
        "port_security_enabled": True, "description": "", "tags": [], "l2_adjacency": True,
        "created_at": isotime(network.created_at), "updated_at": isotime(network.created_at),
        "revision_number": 1,
    }
    if network.external:
        body["is_default"] = False
    return body


def subnet_body(subnet: Subnet) -> dict[str, Any]:
    """Neutron's subnet document."""
    hosts = list(ipaddress.ip_network(subnet.cidr).hosts())
    return {
        "id": subnet.id, "name": subnet.name, "network_id": subnet.network_id,
        "tenant_id": subnet.project_id, "project_id": subnet.project_id,
        "ip_version": subnet.ip_version, "cidr": subnet.cidr, "gateway_ip": subnet.gateway_ip,
        "enable_dhcp": True, "allocation_pools": [{"start": str(hosts[1]), "end": str(hosts[-1])}],
        "dns_nameservers": [], "host_routes": [], "ipv6_address_mode": None,
        "ipv6_ra_mode": None, "subnetpool_id": None, "description": "", "service_types": [],
        "tags": [], "created_at": isotime(subnet.created_at),
        "updated_at": isotime(subnet.created_at), "revision_number": 0,
    }


def _filter_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _filtered(request: web.Request, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutron's filters: each query key restricts a field to any of its given values."""
    for key in set(request.query) - _NOT_FILTERS:
        wanted = {v.lower() if v.lower() in ("true", "false") else v
                  for v in request.query.getall(key)}
        bodies = [b for b in bodies if key in b and _filter_value(b[key]) in wanted]
    return bodies


def _collection(request: web.Request, collection: str,
                bodies: list[dict[str, Any]]) -> web.Response:
    bodies = sorted(_filtered(request, bodies), key=lambda b: b["id"])
    max_limit = request.config_dict[CLOUD].config.max_limit
    links = []
    if request.query.get("limit"):
        limit = parse_limit(request.query["limit"], max_limit, max_limit)
        bodies, full = page(bodies, request.query.get("marker"), limit, lambda b: b["id"])
        if full and bodies:
            query = {**request.query, "marker": bodies[-1]["id"]}
            links.append({"rel": "next", "href": str(request.url.with_query(query))})
    fields = request.query.getall("fields", [])
    if fields:
        bodies = [{k: v for k, v in b.items() if k in fields} for b in bodies]
    body: dict[str, Any] = {collection: bodies}
    if links:
        body[f"{collection}_links"] = links
    return web.json_response(body)


def _show(request: web.Request, item: Any, visible: Callable[[Any], bool],
          render: Callable[[Any], dict[str, Any]], kind: str) -> web.Response:
    if item is None or not visible(item):
        raise ApiError(404, f"{kind.capitalize()} {request.match_info['item_id']} could not be "
                            "found.", kind=f"{kind.capitalize()}NotFound")
    return web.json_response({kind: render(item)})


async def list_networks(request: web.Request) -> web.Response:
    """``GET /v2.0/networks``: own, shared and external networks."""
    cloud = request.config_dict[CLOUD]
    project_id = request["project_id"]
    return _collection(request, "networks", [network_body(n) for n in cloud.networks.group(project_id)])


async def show_network(request: web.Request) -> web.Response:
    """``GET /v2.0/networks/{id}``."""
    cloud, project_id = request.config_dict[CLOUD], request["project_id"]
    network = cloud.networks.get(request.match_info["item_id"])
    return _show(request, network, lambda n: n.visible_to(project_id), network_body, "network")


async def list_subnets(request: web.Request) -> web.Response:
    """``GET /v2.0/subnets``: subnets of the networks the project can see."""
    cloud = request.config_dict[CLOUD]
    project_id = request["project_id"]
    return _collection(request, "subnets", [subnet_body(s) for s in cloud.subnets.group(project_id)])


async def show_subnet(request: web.Request) -> web.Response:
    """``GET /v2.0/subnets/{id}``."""
    cloud, project_id = request.config_dict[CLOUD], request["project_id"]
    subnet = cloud.subnets.get(request.match_info["item_id"])
    return _show(request, subnet, lambda s: cloud.networks[s.network_id].visible_to(project_id),
                 subnet_body, "subnet")


def security_group_body(group: SecurityGroup) -> dict[str, Any]:
    """Neutron's security group document, its rules inside."""
    stamp = isotime(group.created_at)
    return {
        "id": group.id, "name": group.name, "description": group.description,
        "tenant_id": group.project_id, "project_id": group.project_id, "stateful": True,
        "shared": False, "tags": [], "created_at": stamp, "updated_at": stamp, "revision_number": 1,
        "security_group_rules": [{**rule, "direction": rule["direction"], "tenant_id": group.project_id,
                                  "project_id": group.project_id, "description": "",
                                  "created_at": stamp, "updated_at": stamp, "revision_number": 0}
                                 for rule in group.rules],
    }


async def list_security_groups(request: web.Request) -> web.Response:
    """``GET /v2.0/security-groups``: the project's own groups; an admin's token sees every
    project's, as Neutron's policy has it, unless ``project_id``/``tenant_id`` filters them."""
    cloud, project_id = request.config_dict[CLOUD], request["project_id"]
    admin = cloud.users[request["token"].user_id].admin
    groups = cloud.security_groups.values() if admin else cloud.security_groups.group(project_id)
    return _collection(request, "security_groups", [security_group_body(g) for g in groups])


async def show_security_group(request: web.Request) -> web.Response:
    """``GET /v2.0/security-groups/{id}``."""
    cloud, project_id = request.config_dict[CLOUD], request["project_id"]
    group = cloud.security_groups.get(request.match_info["item_id"])
    return _show(request, group, lambda g: g.project_id == project_id, security_group_body,
                 "security_group")
