"""Reaching an emulated project through real openstacksdk, configured by a real clouds.yaml."""
from pathlib import Path
from typing import Any

import openstack
from openstack.config.loader import OpenStackConfig
from openstack.connection import Connection

from devtools.emulator_client import EmulatorClient
from emulator.seeding import clouds_yaml


class EmulatedProject:
    """A project in the emulator, with openstacksdk connections to it."""

    def __init__(self, client: EmulatorClient, access: dict[str, Any], clouds_file: Path) -> None:
        self.emulator = client
        self.access = access
        self.id: str = access["project_id"]
        self.clouds_file = clouds_file
        clouds_file.write_text(clouds_yaml({
            "password": access["cloud"],
            "appcred": access["cloud_application_credential"],
        }))
        self._connections: list[Connection] = []
        self._default: Connection | None = None

    def connect(self, cloud: str = "password", **options: Any) -> Connection:
        """A new connection loaded from the clouds.yaml with openstacksdk's own loader."""
        config = OpenStackConfig(config_files=[str(self.clouds_file)])
        connection = openstack.connection.Connection(config=config.get_one(cloud=cloud, **options))
        self._connections.append(connection)
        return connection

    @property
    def conn(self) -> Connection:
        """The project's default (password) connection."""
        if self._default is None:
            self._default = self.connect()
        return self._default

    def private_network_id(self) -> str:
        """The id of the project's own network."""
        return next(n.id for n in self.conn.network.networks() if n.project_id == self.id)

    def public_image_id(self) -> str:
        """The id of a small public image."""
        return next(i.id for i in self.conn.image.images() if i.name.startswith("cirros"))

    def boot(self, name: str = "vm", **overrides: Any):
        """Create a server with working defaults; ``overrides`` replace any argument."""
        arguments = {"name": name, "flavor_id": "1", "image_id": self.public_image_id(),
                     "networks": [{"uuid": self.private_network_id()}], "key_name": "my-keypair"}
        arguments.update(overrides)
        return self.conn.compute.create_server(**arguments)

    def compute_json(self, path: str, microversion: str = "2.1") -> tuple[int, Any]:
        """A raw Nova GET at a chosen microversion: the status and the decoded body."""
        response = self.conn.compute.get(path, microversion=microversion, raise_exc=False)
        return response.status_code, response.json()

    def close(self) -> None:
        """Close every connection made."""
        for connection in self._connections:
            connection.close()
