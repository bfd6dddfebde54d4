"""Nova's validation of a boot request: the JSON schema, then the referenced resources."""
from typing import Any

from .api_errors import ApiError
from .cloud import Cloud, ServerRequest
from .cloud_records import Token, VolumeAttachment
from .microversion import Microversion

BAD_BOOT = ("Block Device Mapping is Invalid: Boot sequence for the instance and "
            "image/block device mapping combination is not valid.")


def _invalid(field: str, value: Any, reason: str) -> ApiError:
    return ApiError(400, f"Invalid input for field/attribute {field}. Value: {value}. {reason}")


def parse_server_request(cloud: Cloud, token: Token, body: Any,
                         version: Microversion) -> ServerRequest:
    """Validate ``{"server": {…}}`` as Nova does and resolve what it refers to."""
    if not isinstance(body, dict) or not isinstance(body.get("server"), dict):
        raise _invalid("server", body, "'server' is a required property")
    server = body["server"]
    name = _name(server)
    flavor_ref = server.get("flavorRef")
    if not isinstance(flavor_ref, (str, int)) or flavor_ref == "":
        raise _invalid("flavorRef", flavor_ref, "'flavorRef' is a required property")
    metadata = _metadata(server.get("metadata", {}))
    key_name = server.get("key_name")
    if key_name is not None and not isinstance(key_name, str):
        raise _invalid("key_name", key_name, f"{key_name!r} is not of type 'string', 'null'")
    if _count(server, "min_count") != 1 or _count(server, "max_count") != 1:
        raise ApiError(400, "This emulator boots exactly one server per request.")

    flavor = cloud.flavors.get(str(flavor_ref))
    if flavor is None or not flavor.visible_to(token.project_id):
        raise ApiError(400, f"Flavor {flavor_ref} could not be found.")
    image_id, volumes = _boot_source(cloud, server)
    if image_id:
        image = cloud.images.get(image_id)
        if image is None or not image.visible_to(token.project_id):
            raise ApiError(400, f"Image {image_id} could not be found.")
        if image.status != "active":
            raise ApiError(400, f"Image {image_id} is not active.")
        if image.min_ram > flavor.ram:
            raise ApiError(400, "Flavor's memory is too small for requested image.")
        if image.min_disk > flavor.disk:
            raise ApiError(400, "Flavor's disk is too small for requested image. Flavor disk is "
                                f"{flavor.disk * 2**30} bytes, image is {image.min_disk * 2**30} bytes.")
    network_ids = _networks(cloud, token.project_id, server, version)
    if key_name is not None and (token.user_id, key_name) not in cloud.keypairs:
        raise ApiError(400, "Invalid key_name provided.")
    zone = server.get("availability_zone") or cloud.config.availability_zones[0]
    if zone not in cloud.config.availability_zones:
        raise ApiError(400, "The requested availability zone is not available")
    description = server.get("description") if version >= (2, 19) else None
    return ServerRequest(name=name, flavor=flavor, image_id=image_id, network_ids=network_ids,
                         key_name=key_name, metadata=metadata, availability_zone=zone,
                         volumes=volumes, description=description)


def _name(server: dict[str, Any]) -> str:
    name = server.get("name")
    if not isinstance(name, str):
        raise _invalid("name", name, "'name' is a required property")
    if not 1 <= len(name) <= 255:
        raise _invalid("name", name, f"{name!r} is too {'short' if not name else 'long'}")
    if name != name.strip():
        raise _invalid("name", name, "The 'name' has leading or trailing white space.")
    return name


def _count(server: dict[str, Any], key: str) -> int:
    value = server.get(key, 1)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _invalid(key, value, f"{value!r} is not of type 'integer', 'string'") from None


def _metadata(metadata: Any) -> dict[str, str]:
    if not isinstance(metadata, dict):
        raise _invalid("metadata", metadata, f"{metadata!r} is not of type 'object'")
    for key, value in metadata.items():
        if not 1 <= len(key) <= 255:
            raise _invalid("metadata", metadata, f"Metadata key {key!r} must be 1-255 characters.")
        if not isinstance(value, str) or len(value) > 255:
            raise _invalid(f"metadata/{key}", value, "Metadata values must be strings of "
                                                     "at most 255 characters.")
    return dict(metadata)


def _boot_source(cloud: Cloud, server: dict[str, Any]) -> tuple[str, list[VolumeAttachment]]:
    """The image to boot from ('' for a volume-backed server) and the volumes it gets."""
    image_ref = server.get("imageRef", "")
    if not isinstance(image_ref, str):
        raise _invalid("imageRef", image_ref, f"{image_ref!r} is not of type 'string'")
    mappings = server.get("block_device_mapping_v2") or []
    if not isinstance(mappings, list):
        raise _invalid("block_device_mapping_v2", mappings, "is not of type 'array'")
    boot = [m for m in mappings if isinstance(m, dict) and str(m.get("boot_index")) == "0"
            and m.get("destination_type") == "volume"]
    if not boot:
        if not image_ref:
            raise ApiError(400, BAD_BOOT)
        return image_ref, []
    mapping = boot[0]
    volume_id = mapping.get("uuid") if mapping.get("source_type") == "volume" else None
    attachment = VolumeAttachment(volume_id or cloud.new_uuid(),
                                  bool(mapping.get("delete_on_termination", False)))
    return "", [attachment]


def _networks(cloud: Cloud, project_id: str, server: dict[str, Any],
              version: Microversion) -> list[str]:
    requested = server.get("networks")
    own = [n.id for n in cloud.networks.values() if n.project_id == project_id]
    if requested is None:
        if version >= (2, 37):
            raise _invalid("networks", None, "'networks' is a required property")
        if len(own) > 1:
            raise ApiError(409, "Multiple possible networks found, use a Network ID to be more "
                                "specific.")
        return own
    if requested == "none":
        return []
    if requested == "auto":
        return own[:1]
    if not isinstance(requested, list):
        raise _invalid("networks", requested, f"{requested!r} is not of type 'array'")
    network_ids = []
    for item in requested:
        network_id = item.get("uuid") if isinstance(item, dict) else None
        if not isinstance(network_id, str):
            raise _invalid("networks", requested, "Each network needs a 'uuid'.")
        network = cloud.networks.get(network_id)
        if network is None or not network.visible_to(project_id):
            raise ApiError(400, f"Network {network_id} could not be found.")
        network_ids.append(network_id)
    return network_ids
