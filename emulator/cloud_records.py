"""The records an emulated cloud keeps: projects, users, tokens and their resources."""
from dataclasses import dataclass, field
from typing import Any

# Nova's power states.
NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED = 0, 1, 3, 4, 6, 7

@dataclass
class User:
    """A Keystone user; each emulated project has one member user."""

    id: str
    name: str
    password: str = field(repr=False)
    domain_id: str
    project_id: str
    admin: bool = False  # holds the admin role: may read every project's servers


@dataclass
class ApplicationCredential:
    """A Keystone application credential bound to one user and project."""

    id: str
    name: str
    secret: str = field(repr=False)
    user_id: str
    project_id: str


@dataclass
class Project:
    """A Keystone project with its instance quota."""

    id: str
    name: str
    domain_id: str
    quota_instances: int
    quota_volume_gb: int = 1000


@dataclass
class Token:
    """An issued Keystone token."""

    id: str = field(repr=False)
    user_id: str
    project_id: str
    methods: list[str]
    issued_at: float
    expires_at: float
    revoked: bool = False


@dataclass
class Flavor:
    """A Nova flavor (global; private flavors list the projects that may use them)."""

    id: str
    name: str
    vcpus: int
    ram: int
    disk: int
    ephemeral: int = 0
    swap: int = 0
    is_public: bool = True
    rxtx_factor: float = 1.0
    description: str | None = None
    extra_specs: dict[str, str] = field(default_factory=dict)
    access_projects: set[str] = field(default_factory=set)

    def visible_to(self, project_id: str) -> bool:
        """Whether a project may see and boot this flavor."""
        return self.is_public or project_id in self.access_projects


@dataclass
class Image:
    """A Glance image."""

    id: str
    name: str
    owner: str
    visibility: str
    created_at: float
    status: str = "active"
    min_disk: int = 0
    min_ram: int = 0
    disk_format: str = "qcow2"
    container_format: str = "bare"
    size: int = 0
    os_hidden: bool = False
    ready_at: float | None = None  # a snapshot being uploaded: active from then on
    properties: dict[str, str] = field(default_factory=dict)  # Glance's free-form ones

    def settle(self, now: float) -> "Image":
        """The image as it is at ``now``: a snapshot is ``saving``, then ``active``."""
        if self.ready_at is not None:
            self.status = "active" if now >= self.ready_at else "saving"
        return self

    def visible_to(self, project_id: str) -> bool:
        """Glance's default visibility: public, community and shared, or owned."""
        return self.visibility in ("public", "community") or self.owner == project_id


@dataclass
class Subnet:
    """A Neutron subnet; addresses are handed out from ``next_host`` upwards."""

    id: str
    name: str
    network_id: str
    project_id: str
    cidr: str
    gateway_ip: str
    created_at: float
    ip_version: int = 4
    next_host: int = 10


@dataclass
class Network:
    """A Neutron network."""

    id: str
    name: str
    project_id: str
    created_at: float
    shared: bool = False
    external: bool = False
    status: str = "ACTIVE"
    mtu: int = 1450
    subnet_ids: list[str] = field(default_factory=list)

    def visible_to(self, project_id: str) -> bool:
        """Neutron's default visibility: own, shared or external networks."""
        return self.project_id == project_id or self.shared or self.external


@dataclass
class Keypair:
    """A Nova keypair (owned by a user)."""

    name: str
    user_id: str
    public_key: str
    fingerprint: str
    created_at: float
    type: str = "ssh"


@dataclass
class VolumeAttachment:
    """A volume attached to a server."""

    id: str
    delete_on_termination: bool


@dataclass
class NewVolume:
    """A volume Nova is asked to make from an image to boot from (block_device_mapping_v2)."""

    size: int
    image_id: str
    delete_on_termination: bool
    volume_type: str | None = None


@dataclass
class Volume:
    """A Cinder volume."""

    id: str
    project_id: str
    name: str
    size: int
    created_at: float
    status: str = "available"
    bootable: bool = False
    image_id: str | None = None
    volume_type: str = "__DEFAULT__"
    server_id: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    updated_at: float = 0.0
    ready_at: float | None = None  # creating until then; then available
    gone_at: float | None = None  # deleting until then; then gone
    attach_at: float | None = None  # attaching (to ``attaching_to``) until then; then in-use
    attaching_to: str | None = None
    detach_at: float | None = None  # detaching until then; then available


@dataclass
class SecurityGroup:
    """A Neutron security group with its rules."""

    id: str
    project_id: str
    name: str
    description: str
    created_at: float
    rules: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Transition:
    """A lifecycle step a server takes at an emulated time."""

    at: float
    step: str


@dataclass
class Server:
    """A Nova instance and the state Nova's database keeps for it."""

    id: str
    project_id: str
    user_id: str
    name: str
    flavor: Flavor
    image_id: str
    key_name: str | None
    metadata: dict[str, str]
    availability_zone: str
    network_ids: list[str]
    created_at: float
    updated_at: float
    vm_state: str = "building"
    task_state: str | None = "scheduling"
    power_state: int = 0
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    addresses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    volumes: list[VolumeAttachment] = field(default_factory=list)
    launched_at: float | None = None
    terminated_at: float | None = None
    deleted_at: float | None = None
    host: str = ""
    fault: dict[str, Any] | None = None
    pending: list[Transition] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=lambda: ["default"])  # names, as Nova shows
    user_data: str | None = field(default=None, repr=False)  # base64, as Nova stores it
    build_failure: str | None = None  # the fault a failing build ends in (None: no valid host)
    resize_from: Flavor | None = None  # while a resize waits for its confirm (or revert)
    resize_to: Flavor | None = None
    power_before_resize: str = "active"  # the vm_state a confirmed or reverted resize returns to
