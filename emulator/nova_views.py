"""Nova's JSON views of servers, flavors and keypairs, as they change with the microversion."""
import hashlib
from datetime import UTC, datetime
from typing import Any

from . import lifecycle
from .clock import isotime
from .cloud_records import Flavor, Keypair, Server
from .microversion import Microversion

_PROGRESS_STATUSES = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}


def links(base: str, collection: str, item_id: str) -> list[dict[str, str]]:
    """Nova's self and bookmark links; ``base`` is the compute root (no version)."""
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{item_id}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{item_id}"}]


def _usage_time(timestamp: float | None) -> str | None:
    """``OS-SRV-USG`` times are written without a zone and with microseconds."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def server_summary(server: Server, base: str) -> dict[str, Any]:
    """An item of ``GET /servers``."""
    return {"id": server.id, "name": server.name, "links": links(base, "servers", server.id)}


def server_detail(server: Server, base: str, version: Microversion) -> dict[str, Any]:
    """An item of ``GET /servers/detail`` and the body of ``GET /servers/{id}``."""
    status = lifecycle.status_of(server)
    body: dict[str, Any] = {
        "id": server.id,
        "name": server.name,
        "status": status,
        "tenant_id": server.project_id,
        "user_id": server.user_id,
        "metadata": dict(server.metadata),
        "hostId": _host_id(server),
        "image": ({"id": server.image_id, "links": links(base, "images", server.image_id)[1:]}
                  if server.image_id else ""),
        "flavor": flavor_reference(server.flavor, base, version),
        "created": isotime(server.created_at),
        "updated": isotime(server.updated_at),
        "addresses": {name: [dict(a) for a in items] for name, items in server.addresses.items()},
        "accessIPv4": "",
        "accessIPv6": "",
        "links": links(base, "servers", server.id),
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": server.availability_zone if server.host else "",
        "config_drive": "",
        "key_name": server.key_name,
        "OS-SRV-USG:launched_at": _usage_time(server.launched_at),
        "OS-SRV-USG:terminated_at": _usage_time(server.terminated_at),
        "security_groups": [{"name": name} for name in server.security_groups],
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:power_state": server.power_state,
        "os-extended-volumes:volumes_attached": [
            {"id": v.id, "delete_on_termination": v.delete_on_termination} if version >= (2, 3)
            else {"id": v.id} for v in server.volumes],
    }
    if status in _PROGRESS_STATUSES:
        body["progress"] = 0
    if server.fault and status in ("ERROR", "DELETED"):
        body["fault"] = {**server.fault, "created": isotime(server.fault["created"])}
    _add_microversion_fields(body, server, version)
    return body


def _add_microversion_fields(body: dict[str, Any], server: Server, version: Microversion) -> None:
    if version >= (2, 9):
        body["locked"] = False
    if version >= (2, 19):
        body["description"] = server.description
    if version >= (2, 26):
        body["tags"] = list(server.tags)
    if version >= (2, 63):
        body["trusted_image_certificates"] = None
    if version >= (2, 73):
        body["locked_reason"] = None
    if version >= (2, 96):
        body["pinned_availability_zone"] = None


def partial_server(server: Server, base: str, *, detail: bool) -> dict[str, Any]:
    """A record from a cell that is down (microversion 2.69 and later)."""
    body: dict[str, Any] = {"id": server.id, "status": "UNKNOWN", "tenant_id": server.project_id,
                            "created": isotime(server.created_at),
                            "links": links(base, "servers", server.id)}
    if detail:
        body.update({"user_id": server.user_id, "OS-EXT-STS:power_state": 0,
                     "OS-EXT-AZ:availability_zone": "UNKNOWN", "server_groups": [],
                     "image": ({"id": server.image_id} if server.image_id else ""),
                     "flavor": flavor_reference(server.flavor, base, (2, 69))})
    return body


def _host_id(server: Server) -> str:
    if not server.host:
        return ""
    return hashlib.sha224((server.project_id + server.host).encode()).hexdigest()


def flavor_reference(flavor: Flavor, base: str, version: Microversion) -> dict[str, Any]:
    """A server's flavor: a link by id before 2.47, the embedded flavor from 2.47 on."""
    if version < (2, 47):
        return {"id": flavor.id, "links": links(base, "flavors", flavor.id)[1:]}
    return {"vcpus": flavor.vcpus, "ram": flavor.ram, "disk": flavor.disk,
            "ephemeral": flavor.ephemeral, "swap": flavor.swap,
            "original_name": flavor.name, "extra_specs": dict(flavor.extra_specs)}


def flavor_summary(flavor: Flavor, base: str, version: Microversion) -> dict[str, Any]:
    """An item of ``GET /flavors``."""
    body: dict[str, Any] = {"id": flavor.id, "name": flavor.name,
                            "links": links(base, "flavors", flavor.id)}
    if version >= (2, 55):
        body["description"] = flavor.description
    return body


def flavor_detail(flavor: Flavor, base: str, version: Microversion) -> dict[str, Any]:
    """An item of ``GET /flavors/detail`` and the body of ``GET /flavors/{id}``."""
    body = flavor_summary(flavor, base, version)
    body.update({
        "ram": flavor.ram, "disk": flavor.disk, "vcpus": flavor.vcpus,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
        "OS-FLV-DISABLED:disabled": False,
        # Before 2.75 Nova writes a swap of 0 as an empty string.
        "swap": flavor.swap if (flavor.swap or version >= (2, 75)) else "",
        "os-flavor-access:is_public": flavor.is_public,
        "rxtx_factor": flavor.rxtx_factor,
    })
    if version >= (2, 61):
        body["extra_specs"] = dict(flavor.extra_specs)
    return body


def keypair_summary(keypair: Keypair, version: Microversion) -> dict[str, Any]:
    """An item of ``GET /os-keypairs`` (wrapped in ``{"keypair": …}`` by the caller)."""
    body = {"name": keypair.name, "public_key": keypair.public_key,
            "fingerprint": keypair.fingerprint}
    if version >= (2, 2):
        body["type"] = keypair.type
    return body


def keypair_detail(keypair: Keypair, version: Microversion) -> dict[str, Any]:
    """The body of ``GET /os-keypairs/{name}``."""
    created = datetime.fromtimestamp(keypair.created_at, tz=UTC)
    return {**keypair_summary(keypair, version), "user_id": keypair.user_id, "id": 1,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%f"), "deleted": False,
            "deleted_at": None, "updated_at": None}
