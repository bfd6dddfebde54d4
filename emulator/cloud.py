"""The state of one emulated cloud and the operations its APIs perform on it."""
import hashlib
import ipaddress
import random
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import lifecycle
from .api_errors import ApiError
from .clock import Clock
from .cloud_records import (
    ApplicationCredential,
    Flavor,
    Image,
    Keypair,
    Network,
    NewVolume,
    Project,
    SecurityGroup,
    Server,
    Subnet,
    Token,
    User,
    Volume,
    VolumeAttachment,
)
from .config import EmulatorConfig
from .grouped import Grouped

DEFAULT_DOMAIN = "default"


@dataclass(frozen=True)
class ProjectAccess:
    """A new project with the credentials its member user authenticates with."""

    project: Project
    user: User
    app_credential: ApplicationCredential


@dataclass(frozen=True)
class ServerRequest:
    """A validated request to boot a server."""

    name: str
    flavor: Flavor
    image_id: str
    network_ids: list[str]
    key_name: str | None
    metadata: dict[str, str]
    availability_zone: str
    volumes: list[VolumeAttachment]
    description: str | None = None
    new_volume: NewVolume | None = None  # a volume to make from the image and boot from
    security_groups: list[str] = field(default_factory=lambda: ["default"])  # names
    user_data: str | None = None  # base64


def _network_viewer(network: Network) -> str | None:
    """The one project that sees the network, or None if every project does."""
    return None if network.shared or network.external else network.project_id


class Cloud:
    """Projects, identities, images, networks and servers of one emulated cloud."""

    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._random = random.Random(config.random_seed)
        self.projects: Grouped[str, Project] = Grouped(lambda project: project.name)
        self.users: Grouped[str, User] = Grouped(lambda user: user.name)
        self.app_credentials: Grouped[str, ApplicationCredential] = Grouped(lambda c: c.user_id)
        self.tokens: dict[str, Token] = {}
        self.flavors: dict[str, Flavor] = {}
        # Each grouped by the project that sees it (None: every project sees it).
        self.images: Grouped[str, Image] = Grouped(
            lambda image: None if image.visibility in ("public", "community") else image.owner)
        self.networks: Grouped[str, Network] = Grouped(_network_viewer)
        self.subnets: Grouped[str, Subnet] = Grouped(lambda s: _network_viewer(self.networks[s.network_id]))
        self.keypairs: Grouped[tuple[str, str], Keypair] = Grouped(lambda keypair: keypair.user_id)
        self.servers: dict[str, Server] = {}
        self._servers_of: dict[str, dict[str, Server]] = {}  # by project, then id: a list is O(project)
        self.deleted_servers: dict[str, Server] = {}
        self.build_error_rates: dict[str, float] = {}
        self.volumes: Grouped[str, Volume] = Grouped(lambda volume: volume.project_id)
        self.security_groups: Grouped[str, SecurityGroup] = Grouped(lambda group: group.project_id)

    # -- identifiers ---------------------------------------------------------------
    def new_uuid(self) -> str:
        """A random (or, with a seed, reproducible) version-4 UUID."""
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def chance(self, rate: float) -> bool:
        """True with probability ``rate`` (reproducible with a seed)."""
        return self._random.random() < rate

    def new_secret(self) -> str:
        """An unguessable secret for passwords and tokens."""
        return secrets.token_urlsafe(24)

    # -- identity ------------------------------------------------------------------
    def add_project(self, name: str, quota_instances: int | None = None) -> ProjectAccess:
        """Create a project with one member user and one application credential."""
        if self.projects.group(name):
            raise ValueError(f"project {name!r} exists")
        project = Project(
            id=self.new_uuid().replace("-", ""),
            name=name,
            domain_id=DEFAULT_DOMAIN,
            quota_instances=self.config.quota_instances if quota_instances is None else quota_instances,
        )
        user = User(self.new_uuid().replace("-", ""), f"{name}-user", self.new_secret(),
                    DEFAULT_DOMAIN, project.id)
        credential = ApplicationCredential(self.new_uuid().replace("-", ""), f"{name}-app",
                                           self.new_secret(), user.id, project.id)
        self.projects[project.id] = project
        self.users[user.id] = user
        self.app_credentials[credential.id] = credential
        self.add_security_group(project.id, "default", "Default security group", [
            {"direction": "egress", "ethertype": "IPv4"}, {"direction": "egress", "ethertype": "IPv6"},
            {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": "self"},
            {"direction": "ingress", "ethertype": "IPv6", "remote_group_id": "self"}])
        return ProjectAccess(project, user, credential)

    def admin_access(self) -> ProjectAccess:
        """The cloud administrator (made on first use): a user of the ``admin`` project holding the
        admin role, as a deployment's cloud-wide reader would be."""
        for user in self.users.group("admin-user"):
            credential = next(iter(self.app_credentials.group(user.id)))
            return ProjectAccess(self.projects[user.project_id], user, credential)
        access = self.add_project("admin")
        access.user.admin = True
        return access

    def find_user(self, user_id: str | None, name: str | None, domain: str | None) -> User | None:
        """Look a user up by id, or by name within a domain (by id or name)."""
        if user_id:
            return self.users.get(user_id)
        return next((user for user in self.users.group(name)
                     if domain in (user.domain_id, "Default", None)), None)

    def find_project(self, project_id: str | None, name: str | None) -> Project | None:
        """Look a project up by id or by name."""
        if project_id:
            return self.projects.get(project_id)
        return next(iter(self.projects.group(name)), None)

    def issue_token(self, user: User, project: Project, methods: list[str]) -> Token:
        """Issue a project-scoped token that expires after the configured TTL."""
        now = self.clock.now()
        token = Token(self.new_secret(), user.id, project.id, methods, now, now + self.config.token_ttl)
        self.tokens[token.id] = token
        return token

    def valid_token(self, token_id: str | None) -> Token | None:
        """The token if it exists, is not revoked and has not expired."""
        token = self.tokens.get(token_id or "")
        if token is None or token.revoked or token.expires_at <= self.clock.now():
            return None
        return token

    def revoke_tokens(self, project_id: str | None = None) -> int:
        """Revoke every token (of one project); returns how many were revoked."""
        revoked = [t for t in self.tokens.values()
                   if not t.revoked and project_id in (None, t.project_id)]
        for token in revoked:
            token.revoked = True
        return len(revoked)

    # -- resources -----------------------------------------------------------------
    def add_flavor(self, flavor: Flavor) -> Flavor:
        """Register a flavor."""
        self.flavors[flavor.id] = flavor
        return flavor

    def add_image(self, name: str, owner: str, visibility: str = "public", **fields: int) -> Image:
        """Register an active image."""
        image = Image(self.new_uuid(), name, owner, visibility, self.clock.now(), **fields)
        self.images[image.id] = image
        return image

    def add_network(self, name: str, project_id: str, cidr: str, *, shared: bool = False,
                    external: bool = False) -> Network:
        """Register a network with one IPv4 subnet."""
        now = self.clock.now()
        network = Network(self.new_uuid(), name, project_id, now, shared=shared, external=external)
        gateway = str(next(ipaddress.ip_network(cidr).hosts()))
        subnet = Subnet(self.new_uuid(), f"{name}-subnet", network.id, project_id, cidr, gateway, now)
        network.subnet_ids.append(subnet.id)
        self.networks[network.id] = network
        self.subnets[subnet.id] = subnet
        return network

    def add_keypair(self, user_id: str, name: str) -> Keypair:
        """Register an SSH keypair for a user, with a made-up public key."""
        public_key = f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA{secrets.token_hex(16)} {name}"
        digest = hashlib.md5(public_key.encode(), usedforsecurity=False).hexdigest()
        fingerprint = ":".join(digest[i:i + 2] for i in range(0, 32, 2))
        keypair = Keypair(name, user_id, public_key, fingerprint, self.clock.now())
        self.keypairs[(user_id, name)] = keypair
        return keypair

    def add_security_group(self, project_id: str, name: str, description: str,
                           rules: list[dict[str, Any]]) -> SecurityGroup:
        """Register a security group; a rule's ``remote_group_id`` "self" names the group itself."""
        group = SecurityGroup(self.new_uuid(), project_id, name, description, self.clock.now())
        group.rules = [{"id": self.new_uuid(), "security_group_id": group.id, "protocol": None,
                        "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
                        "ethertype": "IPv4", **rule,
                        "remote_group_id": group.id if rule.get("remote_group_id") == "self" else None}
                       for rule in rules]
        self.security_groups[group.id] = group
        return group

    def find_security_group(self, project_id: str, name_or_id: str) -> list[SecurityGroup]:
        """The project's security groups with this id or name (Neutron allows repeated names)."""
        return [g for g in self.security_groups.group(project_id) if name_or_id in (g.id, g.name)]

    def settled_volumes(self, project_id: str) -> list[Volume]:
        """The project's volumes at the emulated now: made ones available, deleted ones gone."""
        now = self.clock.now()
        for volume in list(self.volumes.group(project_id)):
            if volume.ready_at is not None and now >= volume.ready_at:
                volume.status, volume.updated_at, volume.ready_at = "available", volume.ready_at, None
            if volume.attach_at is not None and now >= volume.attach_at:
                volume.status, volume.server_id = "in-use", volume.attaching_to
                volume.updated_at = volume.attach_at
                volume.attach_at = volume.attaching_to = None
            if volume.detach_at is not None and now >= volume.detach_at:
                server = self.servers.get(volume.server_id or "")
                if server is not None:
                    server.volumes = [a for a in server.volumes if a.id != volume.id]
                    server.updated_at = volume.detach_at
                volume.status, volume.server_id, volume.updated_at = "available", None, volume.detach_at
                volume.detach_at = None
            if volume.gone_at is not None and now >= volume.gone_at:
                del self.volumes[volume.id]
        return list(self.volumes.group(project_id))

    def used_gigabytes(self, project_id: str) -> int:
        """Volume gigabytes counted against the project's quota."""
        return sum(v.size for v in self.volumes.group(project_id))

    def allocate_addresses(self, server: Server) -> None:
        """Give the server a fixed address on the first subnet of each of its networks."""
        for network_id in server.network_ids:
            network = self.networks[network_id]
            subnet = self.subnets[network.subnet_ids[0]]
            address = ipaddress.ip_network(subnet.cidr)[subnet.next_host]
            subnet.next_host += 1
            mac = "fa:16:3e:" + ":".join(f"{self._random.randrange(256):02x}" for _ in range(3))
            server.addresses.setdefault(network.name, []).append({
                "version": subnet.ip_version,
                "addr": str(address),
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": mac,
            })

    # -- servers -------------------------------------------------------------------
    def project_servers(self, project_id: str) -> list[Server]:
        """The project's servers that are not yet deleted, each settled to now."""
        now = self.clock.now()
        self._purge_tombstones(now)
        result = []
        for server in list(self._servers_of.get(project_id, {}).values()):
            self._settle(server, now)
            if server.vm_state != "deleted":
                result.append(server)
        return result

    def all_servers(self) -> list[Server]:
        """Every project's servers that are not yet deleted, each settled to now (an admin's
        ``all_tenants`` listing)."""
        return [server for project_id in list(self._servers_of)
                for server in self.project_servers(project_id)]

    def all_tombstones(self) -> list[Server]:
        """Every project's servers deleted recently enough to be reported by changes-since."""
        self._purge_tombstones(self.clock.now())
        return list(self.deleted_servers.values())

    def project_tombstones(self, project_id: str) -> list[Server]:
        """Servers of the project deleted recently enough to be reported by changes-since."""
        self.project_servers(project_id)
        return [s for s in self.deleted_servers.values() if s.project_id == project_id]

    def server(self, project_id: str, server_id: str) -> Server | None:
        """A live server of the project, settled to now, or None."""
        server = self.servers.get(server_id)
        if server is None or server.project_id != project_id:
            return None
        self._settle(server, self.clock.now())
        return None if server.vm_state == "deleted" else server

    def create_server(self, project_id: str, user_id: str, request: ServerRequest, *,
                      at: float | None = None, fails: bool | None = None) -> Server:
        """Accept a boot request; the server then builds in emulated time.

        ``at`` backdates the request and ``fails`` overrides the build error rate (for seeding).
        """
        now = self.clock.now() if at is None else at
        server = Server(
            id=self.new_uuid(), project_id=project_id, user_id=user_id, name=request.name,
            flavor=request.flavor, image_id=request.image_id, key_name=request.key_name,
            metadata=dict(request.metadata), availability_zone=request.availability_zone,
            network_ids=list(request.network_ids), created_at=now, updated_at=now,
            volumes=list(request.volumes), description=request.description,
            security_groups=list(request.security_groups), user_data=request.user_data,
        )
        if fails is None:
            fails = self.chance(self.build_error_rates.get(project_id, self.config.build_error_rate))
        if request.new_volume is not None and not fails:
            fails = not self._make_boot_volume(server, request.new_volume)
        lifecycle.plan_build(server, self.config.build_delay, fails)
        self.servers[server.id] = server
        self._servers_of.setdefault(project_id, {})[server.id] = server
        return server

    def _make_boot_volume(self, server: Server, wanted: NewVolume) -> bool:
        """Make the server's boot volume in Cinder, or set why the build fails (the quota)."""
        project = self.projects[server.project_id]
        used = self.used_gigabytes(project.id)
        if used + wanted.size > project.quota_volume_gb:
            server.build_failure = (
                f"Build of instance {server.id} aborted: VolumeSizeExceedsAvailableQuota: Requested "
                f"volume or snapshot exceeds allowed gigabytes quota. Requested {wanted.size}G, "
                f"quota is {project.quota_volume_gb}G and {used}G has been consumed.")
            return False
        volume = Volume(self.new_uuid(), project.id, "", wanted.size, server.created_at,
                        status="in-use", bootable=True, image_id=wanted.image_id,
                        volume_type=wanted.volume_type or "__DEFAULT__", server_id=server.id)
        self.volumes[volume.id] = volume
        server.volumes.append(VolumeAttachment(volume.id, wanted.delete_on_termination))
        return True

    def delete_server(self, server: Server) -> None:
        """Start deleting a server; it disappears after the delete delay."""
        if server.task_state != "deleting":
            lifecycle.plan_delete(server, self.clock.now(), self.config.delete_delay)

    def act_on_server(self, server: Server, action: str) -> None:
        """Start a stop, start or reboot (``"reboot SOFT"``); ApiError 409 when Nova would refuse."""
        refused = lifecycle.refusal(server, action)
        if refused is not None:
            raise ApiError(409, refused)
        lifecycle.plan_action(server, action, self.clock.now(), self.config.action_delay)

    def remove_server_now(self, server: Server) -> None:
        """Delete a server at once, as if an operator removed it outside the API."""
        now = self.clock.now()
        lifecycle.plan_delete(server, now, 0.0)
        self._settle(server, now)

    def _settle(self, server: Server, now: float) -> None:
        lifecycle.settle(server, now, self.allocate_addresses)
        if server.volumes:  # an attach or detach that ended changes what Nova shows attached
            self.settled_volumes(server.project_id)
        if server.vm_state == "deleted" and server.id in self.servers:
            del self.servers[server.id]
            del self._servers_of[server.project_id][server.id]
            self.deleted_servers[server.id] = server
            self._release_volumes(server)

    def _release_volumes(self, server: Server) -> None:
        """A deleted server's volumes: deleted if so asked, else detached and available."""
        for attachment in server.volumes:
            volume = self.volumes.get(attachment.id)
            if volume is None:
                continue
            if attachment.delete_on_termination:
                del self.volumes[volume.id]
            else:
                volume.status, volume.server_id = "available", None

    def _purge_tombstones(self, now: float) -> None:
        expired = [sid for sid, s in self.deleted_servers.items()
                   if (s.deleted_at or now) + self.config.tombstone_ttl < now]
        for server_id in expired:
            del self.deleted_servers[server_id]

    def used_instances(self, project_id: str) -> int:
        """Instances counted against the project's quota."""
        return len(self.project_servers(project_id))
