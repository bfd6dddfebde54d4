"""Checking a create against what the project has: a ``LaunchRequest``, or the fields in error."""
from collections.abc import Mapping
from typing import Any

from ..records import LaunchRequest

# The supporting list each create field names things from.
RESOURCE_FIELDS = {"flavors": "flavor_id", "images": "image_id", "networks": "network_ids",
                   "keypairs": "key_name"}
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
    elif flavor is not None and (image["min_disk"] > flavor["disk"] or image["min_ram"] > flavor["ram"]):
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
    resolved: LaunchRequest = {
        "name": request["name"], "flavor_id": flavor["id"] if flavor else "",
        "image_id": request["image_id"], "network_ids": list(request["network_ids"]),
        "key_name": key_name, "metadata": dict(request.get("metadata") or {}),
        "availability_zone": request.get("availability_zone")}
    return resolved, errors
