"""Checking a create against what the project has: a ``LaunchRequest``, or the fields in error."""
from collections.abc import Mapping
from typing import Any

from ..core.records import LaunchRequest

# The supporting list each create field names things from.
RESOURCE_FIELDS = {"flavors": "flavor_id", "images": "image_id", "networks": "network_ids",
                   "keypairs": "key_name", "security_groups": "security_groups"}
Items = list[dict[str, Any]]


def resolve_launch(request: Mapping[str, Any],
                   items: Mapping[str, Items]) -> tuple[LaunchRequest, dict[str, list[str]]]:
    """The request with the flavor resolved to its id (a name is accepted), and what is missing."""
    errors: dict[str, list[str]] = {}
    flavor = next((f for f in items["flavors"] if request["flavor_id"] in (f["id"], f["name"])), None)
    image = next((i for i in items["images"] if i["id"] == request["image_id"]), None)
    if flavor is None:
        errors["flavor_id"] = [f"No flavor {request['flavor_id']!r} (by id or name) in this project."]
    if image is None:
        errors["image_id"] = [f"No image {request['image_id']!r} in this project."]
    elif image["status"] != "active":
        errors["image_id"] = [f"Image {image['id']} is {image['status']}, not active."]
    elif flavor is not None and (image["min_ram"] > flavor["ram"]
                                 or (image["min_disk"] > flavor["disk"] and not request.get("boot_volume"))):
        errors["flavor_id"] = [f"Flavor {flavor['name']} ({flavor['disk']} GiB, {flavor['ram']} MiB) "
                               f"is too small for image {image['name']!r} (needs {image['min_disk']} "
                               f"GiB, {image['min_ram']} MiB)."]
    network_ids = {n["id"] for n in items["networks"]}
    missing = [n for n in request["network_ids"] if n not in network_ids]
    if missing:
        errors["network_ids"] = [f"No network {n!r} in this project." for n in missing]
    key_name = request.get("key_name")
    if key_name and key_name not in {k["name"] for k in items["keypairs"]}:
        errors["key_name"] = [f"No SSH keypair {key_name!r} in this project."]
    boot_volume = request.get("boot_volume")
    if boot_volume and image is not None and boot_volume["size_gb"] < image["min_disk"]:
        errors["boot_volume.size_gb"] = [f"Image {image['name']!r} needs a disk of at least "
                                         f"{image['min_disk']} GiB."]
    groups, group_errors = _security_groups(request.get("security_groups"), items["security_groups"])
    if group_errors:
        errors["security_groups"] = group_errors
    resolved: LaunchRequest = {
        "name": request["name"], "flavor_id": flavor["id"] if flavor else "",
        "image_id": request["image_id"], "network_ids": list(request["network_ids"]),
        "key_name": key_name, "metadata": dict(request.get("metadata") or {}),
        "availability_zone": request.get("availability_zone")}
    if groups:
        resolved["security_groups"] = groups
    if boot_volume:
        resolved["boot_volume"] = boot_volume
    if request.get("user_data"):
        resolved["user_data"] = request["user_data"]
    return resolved, errors


def _security_groups(wanted: list[str] | None, known: Items) -> tuple[list[str], list[str]]:
    """The ids of the groups named (by id or name), and the errors of those not found or
    ambiguous (two groups can share a name in Neutron)."""
    ids, errors = [], []
    for name in wanted or []:
        matches = [g["id"] for g in known if name in (g["id"], g["name"])]
        if not matches:
            errors.append(f"No security group {name!r} (by id or name) in this project.")
        elif len(matches) > 1:
            errors.append(f"{len(matches)} security groups are named {name!r}; give its id.")
        else:
            ids.append(matches[0])
    return list(dict.fromkeys(ids)), errors
