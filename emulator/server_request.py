"""Nova's validation of a boot request: the JSON schema, then the referenced resources."""
import base64
import binascii
from typing import Any

from .api_errors import ApiError
from .cloud import Cloud, ServerRequest
from .cloud_records import NewVolume, Token, VolumeAttachment
from .microversion import Microversion

USER_DATA_MAX = 65535  # bytes of base64 (nova.api.openstack.compute.servers)

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
    image_id, volumes, new_volume = _boot_source(cloud, server, token.project_id)
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
                         volumes=volumes, description=description, new_volume=new_volume,
                         security_groups=_security_groups(cloud, token.project_id, server),
                         user_data=_user_data(server))


def _user_data(server: dict[str, Any]) -> str | None:
    """Nova's checks: base64 text, at most 65535 bytes as sent."""
    user_data = server.get("user_data")
    if user_data is None:
        return None
    if not isinstance(user_data, str):
        raise _invalid("user_data", user_data, f"{user_data!r} is not of type 'string'")
    if len(user_data) > USER_DATA_MAX:
        raise ApiError(400, f"User data too large. User data must be no larger than {USER_DATA_MAX} "
                            f"bytes once base64 encoded. Your data is {len(user_data)} bytes")
    try:
        base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("user_data", user_data[:40], "is not a 'base64'") from None
    return user_data


def _security_groups(cloud: Cloud, project_id: str, server: dict[str, Any]) -> list[str]:
    """The names of the groups asked for (each ``{"name": <name or id>}``); the project's
    ``default`` group when none is asked for."""
    requested = server.get("security_groups")
    if requested is None:
        return ["default"]
    if not isinstance(requested, list) or not all(isinstance(g, dict) and isinstance(g.get("name"), str)
                                                  for g in requested):
        raise _invalid("security_groups", requested, "Each security group needs a 'name'.")
    names = []
    for item in requested:
        matches = cloud.find_security_group(project_id, item["name"])
        if not matches:
            raise ApiError(400, f"Unable to find security_group with name or id '{item['name']}'")
        if len(matches) > 1:
            raise ApiError(409, f"Multiple security_group matches found for name '{item['name']}', "
                                "use an ID to be more specific.")
        names.append(matches[0].name)
    return names


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


def _boot_source(cloud: Cloud, server: dict[str, Any],
                 project_id: str) -> tuple[str, list[VolumeAttachment], NewVolume | None]:
    """The image to boot from ('' for a volume-backed server), the existing volumes it gets, and
    the volume to make from an image for it."""
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
        return image_ref, [], None
    mapping = boot[0]
    delete = bool(mapping.get("delete_on_termination", False))
    if mapping.get("source_type") == "image":
        return "", [], _volume_from_image(cloud, mapping, project_id, delete)
    volume = cloud.volumes.get(str(mapping.get("uuid")))
    if mapping.get("source_type") != "volume" or volume is None or volume.project_id != project_id:
        raise ApiError(400, BAD_BOOT)
    return "", [VolumeAttachment(volume.id, delete)], None


def _volume_from_image(cloud: Cloud, mapping: dict[str, Any], project_id: str,
                       delete: bool) -> NewVolume:
    """``source_type: image, destination_type: volume``: a new volume of ``volume_size`` GiB."""
    image = cloud.images.get(str(mapping.get("uuid")))
    if image is None or not image.visible_to(project_id):
        raise ApiError(400, f"Image {mapping.get('uuid')} could not be found.")
    if image.status != "active":
        raise ApiError(400, f"Image {image.id} is not active.")
    size = mapping.get("volume_size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise _invalid("block_device_mapping_v2/0/volume_size", size,
                       f"{size!r} is not of type 'integer' or is less than the minimum of 1")
    if size < image.min_disk:
        raise ApiError(400, "Volume is smaller than the minimum size specified in image metadata. "
                            f"Volume size is {size * 2**30} bytes, minimum size is "
                            f"{image.min_disk * 2**30} bytes.")
    volume_type = mapping.get("volume_type")
    return NewVolume(size, image.id, delete, volume_type if isinstance(volume_type, str) else None)


def _networks(cloud: Cloud, project_id: str, server: dict[str, Any],
              version: Microversion) -> list[str]:
    requested = server.get("networks")
    own = [n.id for n in cloud.networks.group(project_id) if n.project_id == project_id]
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
