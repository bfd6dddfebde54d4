"""The emulated cloud's starting content, demo projects, and clouds.yaml for reaching them."""
from typing import Any

import yaml

from .cloud import Cloud, ProjectAccess, ServerRequest
from .cloud_records import Flavor, NewVolume, Project

# Nova's classic default flavors: (id, name, vcpus, ram MiB, disk GiB).
FLAVORS = (("1", "m1.tiny", 1, 512, 1), ("2", "m1.small", 1, 2048, 20),
           ("3", "m1.medium", 2, 4096, 40), ("4", "m1.large", 4, 8192, 80))
PUBLIC_IMAGES = (("cirros-0.6.2-x86_64-disk", 1, 0), ("ubuntu-24.04-server", 10, 1024))
DEMO_KEYPAIR = "my-keypair"


def seed_catalog(cloud: Cloud) -> None:
    """Flavors, public images and the external network every project sees."""
    for flavor_id, name, vcpus, ram, disk in FLAVORS:
        cloud.add_flavor(Flavor(flavor_id, name, vcpus, ram, disk))
    for name, min_disk, min_ram in PUBLIC_IMAGES:
        cloud.add_image(name, owner="admin", min_disk=min_disk, min_ram=min_ram, size=21430272)
    cloud.add_network("public", "admin", "172.24.4.0/24", external=True)


def seed_project(cloud: Cloud, name: str | None = None, servers: int = 0,
                 quota_instances: int | None = None) -> ProjectAccess:
    """A project with a private network, a keypair, a private image and ``servers`` ACTIVE servers."""
    ordinal = len(cloud.projects) + 1
    access = cloud.add_project(name or f"project-{ordinal}", quota_instances)
    project, user = access.project, access.user
    # Tenant networks may overlap, as in Neutron: a project of many servers gets a /16 of its own.
    cidr = (f"10.{ordinal % 250}.{ordinal // 250}.0/24" if servers < 250
            else f"10.{ordinal % 250}.0.0/16")
    network = cloud.add_network("private", project.id, cidr)
    cloud.add_keypair(user.id, DEMO_KEYPAIR)
    cloud.add_image(f"{project.name}-golden", owner=project.id, visibility="private", min_disk=10)
    image_id = next(i.id for i in cloud.images.values() if i.visibility == "public")
    for number in range(1, servers + 1):
        _seed_server(cloud, project, user.id, number, servers, image_id, network.id)
    return access


def _seed_server(cloud: Cloud, project: Project, user_id: str, number: int, total: int,
                 image_id: str, network_id: str) -> None:
    """An ACTIVE server created a while ago; the first of several boots from a volume."""
    volume_booted = number == 1 and total > 1
    request = ServerRequest(
        name=f"{project.name}-server-{number}", flavor=cloud.flavors["1"],
        image_id="" if volume_booted else image_id, network_ids=[network_id],
        key_name=DEMO_KEYPAIR, metadata={"seeded": "true"},
        availability_zone=cloud.config.availability_zones[0], volumes=[],
        new_volume=NewVolume(1, image_id, delete_on_termination=True) if volume_booted else None)
    started = cloud.clock.now() - cloud.config.build_delay - 60 * (total - number + 1)
    cloud.create_server(project.id, user_id, request, at=started, fails=False)


def access_document(access: ProjectAccess, auth_url: str, region: str) -> dict[str, Any]:
    """Everything a client needs to reach a project, with clouds.yaml entries for both auth types."""
    project, user, credential = access.project, access.user, access.app_credential
    password_auth = {"auth_url": auth_url, "username": user.name, "password": user.password,
                     "user_domain_name": "Default", "project_id": project.id}
    credential_auth = {"auth_url": auth_url, "application_credential_id": credential.id,
                       "application_credential_secret": credential.secret}
    common = {"region_name": region, "interface": "public", "identity_api_version": 3}
    return {
        "project_id": project.id, "project_name": project.name, "user_id": user.id,
        "username": user.name, "password": user.password,
        "application_credential_id": credential.id,
        "application_credential_secret": credential.secret,
        "auth_url": auth_url, "region_name": region,
        "cloud": {"auth_type": "password", "auth": password_auth, **common},
        "cloud_application_credential": {"auth_type": "v3applicationcredential",
                                         "auth": credential_auth, **common},
    }


def clouds_yaml(entries: dict[str, dict[str, Any]]) -> str:
    """A clouds.yaml document holding the given named cloud entries."""
    return yaml.safe_dump({"clouds": entries}, sort_keys=False)
