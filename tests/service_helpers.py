"""Setting the service up against emulated projects: clouds.yaml, tokens file, settings."""
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.access.tokens import digest_of
from app.process.settings import Settings
from app.webhooks.secret_box import generate_key
from tests.openstack_helpers import EmulatedProject

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
