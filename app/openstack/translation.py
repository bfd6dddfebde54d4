"""Translation between OpenStack's JSON and SDK resources and the service's records."""
import base64
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from openstack import exceptions as sdk_errors
from openstack.connection import Connection

from ..core.records import (
    ActionRequest,
    Flavor,
    Image,
    Keypair,
    LaunchRequest,
    Network,
    Resource,
    SecurityGroup,
    Server,
    Volume,
)
from ..core.times import iso, parse_iso

# The Nova metadata keys a create job tags its server with: its job id, so a retried job finds
# it, and its Idempotency-Key's tag, so a replay finds it even if Redis lost everything.
JOB_TAG = "cloud-servers-job"
IDEMPOTENCY_TAG = "cloud-servers-idempotency"
RESERVED_METADATA_KEYS = (JOB_TAG, IDEMPOTENCY_TAG)
# Keys every complete Nova server record has; a record from a down cell lacks some of them.
_COMPLETE_SERVER_KEYS = ("name", "status", "OS-EXT-STS:vm_state", "addresses", "metadata", "updated")


def is_partial(record: Mapping[str, Any]) -> bool:
    """A record Nova could not fill (its cell is down): it says nothing about the server's state."""
    return record.get("status") == "UNKNOWN" or any(k not in record for k in _COMPLETE_SERVER_KEYS)


def idempotency_tags(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Server id -> the Idempotency-Key tag in its Nova metadata, for the records with one."""
    return {str(r["id"]): str(tag) for r in records
            if (tag := (r.get("metadata") or {}).get(IDEMPOTENCY_TAG)) and r.get("id")}


def server_from_nova(record: Mapping[str, Any], flavor_ids: Mapping[str, str]) -> Server:
    """A complete Nova server record as the service's server (its metadata without the
    service's own keys).

    From microversion 2.47 Nova embeds the flavor with its name instead of its id; Nova keeps
    flavor names unique, so the id is looked up by name (None if the flavor is gone).
    """
    flavor = record.get("flavor") or {}
    image = record.get("image")
    return {
        "id": record["id"],
        "name": record["name"],
        "status": record["status"],
        "task_state": record.get("OS-EXT-STS:task_state"),
        "power_state": record.get("OS-EXT-STS:power_state"),
        "addresses": {
            network: [{"addr": a.get("addr"), "version": a.get("version"),
                       "type": a.get("OS-EXT-IPS:type")} for a in items]
            for network, items in (record.get("addresses") or {}).items()},
        "flavor": {"id": flavor.get("id") or flavor_ids.get(flavor.get("original_name", ""))},
        "image": {"id": image["id"]} if isinstance(image, dict) and image.get("id") else None,
        "key_name": record.get("key_name"),
        "availability_zone": record.get("OS-EXT-AZ:availability_zone") or None,
        "volumes_attached": [
            {"id": v["id"], "delete_on_termination": bool(v.get("delete_on_termination", False))}
            for v in record.get("os-extended-volumes:volumes_attached") or []],
        "metadata": {key: value for key, value in (record.get("metadata") or {}).items()
                     if key not in RESERVED_METADATA_KEYS},  # the user's map: the service's keys stay in Nova
        "created": record.get("created"),
        "updated": record.get("updated"),
    }


# Nova's side of a server action: the body of POST /servers/{id}/action, the task state Nova
# shows while it runs, and the status it ends in.
NOVA_ACTIONS: dict[tuple[str, str | None], tuple[dict[str, Any], str, str]] = {
    ("stop", None): ({"os-stop": None}, "powering-off", "SHUTOFF"),
    ("start", None): ({"os-start": None}, "powering-on", "ACTIVE"),
    ("reboot", "SOFT"): ({"reboot": {"type": "SOFT"}}, "rebooting", "ACTIVE"),
    ("reboot", "HARD"): ({"reboot": {"type": "HARD"}}, "rebooting_hard", "ACTIVE"),
}
# The longer actions (their end depends on the server): the task state the service shows from
# the 202 on (Nova's own, but for a confirm, which Nova does at once without one).
LONG_ACTION_TASKS = {"resize": "resize_prep", "confirm_resize": "resize_confirming",
                     "revert_resize": "resize_reverting", "snapshot": "image_snapshot",
                     "attach_volume": "attaching_volume", "detach_volume": "detaching_volume"}
DELETING = "deleting"  # Nova's task state while a server is being deleted
# The task states the service itself shows before Nova does (a queued delete or action).
SERVICE_TASK_STATES = frozenset((DELETING, *(task for _, task, _ in NOVA_ACTIONS.values()),
                                 *LONG_ACTION_TASKS.values()))


def action_body(action: ActionRequest) -> dict[str, Any]:
    """The body Nova's ``POST /servers/{id}/action`` gets for an action."""
    name = action["action"]
    if name == "resize":
        return {"resize": {"flavorRef": action["flavor_id"]}}
    if name == "snapshot":
        return {"createImage": {"name": action["image_name"]}}
    if name in ("confirm_resize", "revert_resize"):
        return {"confirmResize" if name == "confirm_resize" else "revertResize": None}
    return NOVA_ACTIONS[(name, action["type"])][0]


def boot_request(launch: LaunchRequest, job_id: str) -> dict[str, Any]:
    """The body Nova's ``POST /servers`` gets for a create job, tagged with the job's id."""
    server: dict[str, Any] = {
        "name": launch["name"], "flavorRef": launch["flavor_id"], "imageRef": launch["image_id"],
        "networks": [{"uuid": n} for n in launch["network_ids"]],
        "metadata": {**launch["metadata"], JOB_TAG: job_id},
    }
    if launch.get("idempotency_tag"):
        server["metadata"][IDEMPOTENCY_TAG] = launch["idempotency_tag"]
    if launch.get("key_name"):
        server["key_name"] = launch["key_name"]
    if launch.get("availability_zone"):
        server["availability_zone"] = launch["availability_zone"]
    if launch.get("security_groups"):
        server["security_groups"] = [{"name": group} for group in launch["security_groups"]]
    if launch.get("user_data"):
        server["user_data"] = base64.b64encode(launch["user_data"].encode()).decode()
    boot_volume = launch.get("boot_volume")
    if boot_volume:  # a new volume from the image is the root disk: Nova gets no imageRef
        del server["imageRef"]
        server["block_device_mapping_v2"] = [{
            "boot_index": 0, "uuid": launch["image_id"], "source_type": "image",
            "destination_type": "volume", "volume_size": boot_volume["size_gb"],
            "delete_on_termination": boot_volume["delete_on_termination"],
            **({"volume_type": boot_volume["volume_type"]} if boot_volume.get("volume_type") else {})}]
    return server


def _flavors(connection: Connection) -> list[Flavor]:
    return [{"id": f.id, "name": f.name, "vcpus": f.vcpus, "ram": f.ram, "disk": f.disk,
             "is_public": f.is_public} for f in connection.compute.flavors(details=True)]


def image_record(image: Any) -> Image:
    """An openstacksdk image as the service's record."""
    return {"id": image.id, "name": image.name, "status": image.status, "min_disk": image.min_disk or 0,
            "min_ram": image.min_ram or 0, "visibility": image.visibility}


def _images(connection: Connection) -> list[Image]:
    return [image_record(i) for i in connection.image.images()]


def _networks(connection: Connection) -> list[Network]:
    return [{"id": n.id, "name": n.name, "status": n.status, "subnets": list(n.subnet_ids or []),
             "shared": bool(n.is_shared), "external": bool(n.is_router_external)}
            for n in connection.network.networks()]


def _keypairs(connection: Connection) -> list[Keypair]:
    return [{"name": k.name, "fingerprint": k.fingerprint, "type": k.type or "ssh"}
            for k in connection.compute.keypairs()]


def _security_groups(connection: Connection) -> list[SecurityGroup]:
    """The project's own groups: a credential with more rights (an admin role) lists every
    project's unless asked for one, as Horizon does."""
    return [{"id": g.id, "name": g.name, "description": g.description or "",
             "rules": [{"direction": r["direction"], "ethertype": r.get("ethertype") or "IPv4",
                        "protocol": r.get("protocol"), "port_range_min": r.get("port_range_min"),
                        "port_range_max": r.get("port_range_max"),
                        "remote_ip_prefix": r.get("remote_ip_prefix"),
                        "remote_group_id": r.get("remote_group_id")}
                       for r in g.security_group_rules or []]}
            for g in connection.network.security_groups(project_id=connection.current_project_id)]


def _volumes(connection: Connection) -> list[Volume]:
    try:
        volumes = list(connection.block_storage.volumes(details=True))
    except (sdk_errors.EndpointNotFound, sdk_errors.ServiceDisabledException):  # no Cinder here
        return []
    return [volume_record(v) for v in volumes]


def volume_record(volume: Any) -> Volume:
    """An openstacksdk volume as the service's record."""
    return {"id": volume.id, "name": volume.name, "size": volume.size, "status": volume.status,
            "attachments": [a["server_id"] for a in volume.attachments or [] if a.get("server_id")],
            "bootable": str(volume.is_bootable).lower() == "true",
            "volume_type": volume.volume_type,
            # Cinder writes its times without a zone (UTC): answered as Nova's, with Z
            "created": iso(parse_iso(volume.created_at)) if volume.created_at else None,
            "updated": iso(parse_iso(volume.updated_at)) if volume.updated_at else None}


RESOURCE_READERS: dict[str, Callable[[Connection], Any]] = {
    "flavors": _flavors, "images": _images, "networks": _networks, "keypairs": _keypairs,
    "security_groups": _security_groups, "volumes": _volumes,
}


def read_resources(connection: Connection, kind: str) -> list[Resource]:
    """Flavors, images, networks, keypairs, security groups or volumes of the connection's
    project, as records."""
    items: list[Resource] = RESOURCE_READERS[kind](connection)
    return items
