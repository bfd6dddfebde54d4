"""The domain's records: a server and the supporting resources, as the snapshot keeps them.

They are exactly what the API answers (``app.api.schemas`` documents the same fields, and a test
holds the two together), so a stored list is served as it is, without re-encoding.
"""
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from .times import parse_iso


class Address(TypedDict):
    """One address of a server on a network."""

    addr: str | None
    version: int | None
    type: str | None


class IdReference(TypedDict):
    """A reference to another resource by id."""

    id: str | None


class VolumeAttachment(TypedDict):
    """A volume attached to a server."""

    id: str
    delete_on_termination: bool


class Server(TypedDict):
    """A virtual machine, with the key fields of Nova's server."""

    id: str
    name: str
    status: str
    task_state: str | None
    power_state: int | None
    addresses: dict[str, list[Address]]
    flavor: IdReference
    image: IdReference | None
    key_name: str | None
    availability_zone: str | None
    volumes_attached: list[VolumeAttachment]
    metadata: dict[str, str]
    created: str | None
    updated: str | None


class Flavor(TypedDict):
    """A server size."""

    id: str
    name: str
    vcpus: int
    ram: int
    disk: int
    is_public: bool


class Image(TypedDict):
    """An operating system image."""

    id: str
    name: str | None
    status: str
    min_disk: int
    min_ram: int
    visibility: str


class Network(TypedDict):
    """A network servers can be attached to."""

    id: str
    name: str
    status: str
    subnets: list[str]
    shared: bool
    external: bool


class Keypair(TypedDict):
    """An SSH keypair."""

    name: str
    fingerprint: str
    type: str


class SecurityGroupRule(TypedDict):
    """One rule of a security group."""

    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None


class SecurityGroup(TypedDict):
    """A set of firewall rules servers are put in."""

    id: str
    name: str
    description: str
    rules: list[SecurityGroupRule]


class Volume(TypedDict):
    """A block storage volume."""

    id: str
    name: str | None
    size: int
    status: str
    attachments: list[str]
    bootable: bool
    volume_type: str | None
    created: str | None
    updated: str | None


class BootVolume(TypedDict):
    """A new volume to boot from, made from the image."""

    size_gb: int
    delete_on_termination: bool
    volume_type: NotRequired[str]


def created_time(server: Mapping[str, Any]) -> float | None:
    """When the server was created, as Nova wrote it (UNIX seconds); None if it says nothing valid."""
    try:
        return parse_iso(str(server.get("created")))
    except ValueError:
        return None


Resource = Flavor | Image | Network | Keypair | SecurityGroup | Volume
SERVER_FIELDS: tuple[str, ...] = tuple(Server.__annotations__)


class ActionRequest(TypedDict):
    """A validated server action: ``stop``, ``start``, ``reboot`` (``type`` SOFT or HARD),
    ``resize`` (to ``flavor_id``, confirmed unless ``confirm`` is false), ``confirm_resize``,
    ``revert_resize``, ``snapshot`` (to an image named ``image_name``), ``attach_volume`` or
    ``detach_volume`` (``volume_id``)."""

    action: str
    type: str | None
    flavor_id: NotRequired[str]
    confirm: NotRequired[bool]
    image_name: NotRequired[str]
    volume_id: NotRequired[str]  # attach_volume, detach_volume


class VolumeRequest(TypedDict):
    """A validated volume create (or, with ``volume_id`` alone, the volume a delete removes)."""

    name: NotRequired[str]
    size_gb: NotRequired[int]
    volume_type: NotRequired[str | None]
    image_id: NotRequired[str | None]
    description: NotRequired[str | None]
    idempotency_tag: NotRequired[str]  # the Idempotency-Key's tag, in the volume's metadata
    volume_id: NotRequired[str]


class LaunchRequest(TypedDict):
    """A validated create: what a create job asks Nova to boot (the flavor resolved to its id)."""

    name: str
    flavor_id: str
    image_id: str
    network_ids: list[str]
    key_name: str | None
    metadata: dict[str, str]
    availability_zone: str | None
    security_groups: NotRequired[list[str]]  # ids; none: Nova puts the server in "default"
    boot_volume: NotRequired[BootVolume]
    user_data: NotRequired[str]  # cloud-init text as given; never answered, logged or announced
    idempotency_tag: NotRequired[str]  # the Idempotency-Key's tag, carried into Nova's metadata
