"""What tests of every tier share: emulated projects, the service set up against them, waiting."""
import asyncio
import inspect
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import openstack
import yaml
from openstack.config.loader import OpenStackConfig
from openstack.connection import Connection

from app.access.tokens import digest_of
from app.process.settings import Settings
from app.webhooks.secret_box import generate_key
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


WEBHOOK_KEYS = "webhook-keys"  # beside clouds.yaml: the key the webhooks' secrets are sealed with


def settings_with(**overrides: Any) -> Settings:
    """Settings at their declared defaults but for ``overrides``, for tests that build parts by hand."""
    return Settings(redis_url="", clouds_file=Path("unused"), **overrides)


class ManualClock:
    """A wall clock that moves only when a test says so, from the real time it was made at."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


@dataclass
class ServiceSetup:
    """The files and settings of one service instance, and the tokens to call it with."""

    settings: Settings
    environ: dict[str, str]
    projects: list[EmulatedProject]
    tokens: dict[str, str] = field(repr=False)

    def headers(self, who: str = "admin", **extra: str) -> dict[str, str]:
        """Request headers carrying the named caller's bearer token."""
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    @property
    def project_id(self) -> str:
        """The first project's id."""
        return self.projects[0].id


def write_service_files(directory: Path, projects: list[EmulatedProject],
                        unconfigured: list[str] = ()) -> tuple[Path, Path, dict[str, str]]:
    """clouds.yaml for the projects; tokens: one per project, one for all, one for ``unconfigured``;
    a key for webhook secrets."""
    clouds = {p.access["project_name"]: p.access["cloud"] for p in projects}
    clouds_file = directory / "clouds.yaml"
    clouds_file.write_text(yaml.safe_dump({"clouds": clouds}))
    tokens = {"admin": secrets.token_urlsafe(16), "stranger": secrets.token_urlsafe(16)}
    entries = [{"name": "admin", "sha256": digest_of(tokens["admin"]).hex(), "projects": "*"},
               {"name": "stranger", "sha256": digest_of(tokens["stranger"]).hex(),
                "projects": list(unconfigured) or ["00000000000040008000000000000000"]}]
    for index, project in enumerate(projects):
        tokens[f"p{index}"] = secrets.token_urlsafe(16)
        entries.append({"name": f"p{index}", "sha256": digest_of(tokens[f"p{index}"]).hex(),
                        "projects": [project.id]})
    tokens_file = directory / "tokens.yaml"
    tokens_file.write_text(yaml.safe_dump({"tokens": entries}))
    (directory / WEBHOOK_KEYS).write_text(generate_key() + "\n")
    return clouds_file, tokens_file, tokens


def service_environ(redis_url: str, clouds_file: Path, tokens_file: Path,
                    **overrides: Any) -> dict[str, str]:
    """The environment variables of a test service: quick polls, short timeouts."""
    environ = {"REDIS_URL": redis_url, "OS_CLIENT_CONFIG_FILE": str(clouds_file),
               "API_TOKENS_FILE": str(tokens_file), "POLL_INTERVAL": "0.3",
               "RESOURCES_INTERVAL": "3600", "OPENSTACK_TIMEOUT": "5", "POLL_LEASE": "10",
               "OPENSTACK_THREADS": "4", "SHUTDOWN_TIMEOUT": "1", "BUILD_POLL_INTERVAL": "0.2",
               "JOB_VISIBILITY_TIMEOUT": "10", "JOB_BACKOFF_MAX": "1",
               "WEBHOOK_KEYS_FILE": str(clouds_file.parent / WEBHOOK_KEYS), "WEBHOOK_ALLOW_HTTP": "true",
               "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32", "WORKER_METRICS_PORT": "0"}
    environ.update({key.upper(): str(value) for key, value in overrides.items()})
    return environ


Value = TypeVar("Value")


async def eventually(check: Callable[[], Value | Awaitable[Value]], timeout: float = 10.0,
                     interval: float = 0.1) -> Value:
    """Call ``check`` (plain or async) until it returns something truthy; fail after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        await asyncio.sleep(interval)


