"""A small synchronous client for the emulator's control API (used by tests and ``make run``)."""
import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from .processes import start_serving, stop_process


class ControlError(RuntimeError):
    """The control API refused a call."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status


class EmulatorClient:
    """Calls ``/_emulator/…`` on a running emulator."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @property
    def auth_url(self) -> str:
        """Keystone's URL."""
        return f"{self.base_url}/v3"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One control call; raises ``ControlError`` on an error status."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}/_emulator{path}", data=data,
                                         method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            with error:
                raise ControlError(error.code, error.read().decode(errors="replace")) from None
        return json.loads(payload) if payload else None

    def wait_until_ready(self, timeout: float = 15.0) -> None:
        """Block until the emulator answers its health check."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.call("GET", "/health")
                return
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def create_project(self, name: str | None = None, servers: int = 0,
                       **settings: Any) -> dict[str, Any]:
        """A new project (optionally with ACTIVE servers); returns its access document."""
        body = {"servers": servers, **settings}
        if name:
            body["name"] = name
        return self.call("POST", "/projects", body)

    def admin_access(self) -> dict[str, Any]:
        """The cloud administrator's access document (an admin-role user, made on first use)."""
        return self.call("POST", "/admin")

    def update_project(self, project_id: str, **settings: Any) -> dict[str, Any]:
        """Change ``quota_instances`` or ``build_error_rate`` of a project."""
        return self.call("PATCH", f"/projects/{project_id}", settings)

    def add_private_image(self, project_id: str, name: str, **sizes: int) -> str:
        """Upload an image to a project outside the API; returns its id."""
        return self.call("POST", f"/projects/{project_id}/images", {"name": name, **sizes})["id"]

    def set_faults(self, project_id: str = "*", **faults: Any) -> dict[str, Any]:
        """Replace the faults in force for a project (``*``: every project and Keystone)."""
        return self.call("PUT", f"/faults/{project_id}", faults)

    def clear_faults(self, project_id: str = "*") -> None:
        """Remove the faults of a project."""
        self.call("DELETE", f"/faults/{project_id}")

    def advance_clock(self, seconds: float) -> float:
        """Move emulated time forward; returns the new time."""
        return self.call("POST", "/clock", {"advance": seconds})["now"]

    def requests(self, project_id: str | None = None, service: str | None = None,
                 after: int = 0) -> list[dict[str, Any]]:
        """Logged requests newer than sequence number ``after``."""
        query = "&".join(f"{k}={v}" for k, v in
                         (("project_id", project_id), ("service", service), ("after", after))
                         if v is not None)
        return self.call("GET", f"/requests?{query}")["requests"]

    def last_request_seq(self) -> int:
        """The sequence number of the newest logged request."""
        return self.call("GET", "/requests?after=0&service=none")["last_seq"]

    def set_server_status(self, server_id: str, status: str) -> None:
        """Change a server's status as if it happened outside the API."""
        self.call("PATCH", f"/servers/{server_id}", {"status": status})

    def remove_server(self, server_id: str) -> None:
        """Remove a server at once, as an operator would."""
        self.call("DELETE", f"/servers/{server_id}")

    def revoke_tokens(self, project_id: str | None = None) -> int:
        """Revoke tokens (of one project); returns how many."""
        body = {"project_id": project_id} if project_id else {}
        return self.call("POST", "/tokens/revoke", body)["revoked"]


class EmulatorProcess:
    """``python -m emulator`` as a child process on a free 127.0.0.1 port."""

    def __init__(self, workdir: Path, *args: str) -> None:
        self.workdir = Path(workdir)
        self.args = list(args)
        self.process: subprocess.Popen[bytes] | None = None
        self.client: EmulatorClient | None = None

    def start(self, timeout: float = 20.0) -> EmulatorClient:
        """Start the emulator and wait until it answers."""
        self.process, url = start_serving("emulator", self.workdir, *self.args, timeout=timeout)
        self.client = EmulatorClient(url)
        self.client.wait_until_ready()
        return self.client

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the emulator (SIGTERM, then SIGKILL)."""
        stop_process(self.process, timeout)
        self.process = None


CLOUD_READER = "cloud-reader"  # the clouds.yaml entry of the emulator's administrator


def add_cloud_reader(clouds_file: Path, emulator: EmulatorClient, name: str = CLOUD_READER) -> dict[str, Any]:
    """Add the emulator's administrator to a clouds.yaml, as the entry ``CLOUD_READER`` names; its
    access document."""
    access = emulator.admin_access()
    clouds = yaml.safe_load(clouds_file.read_text())
    clouds["clouds"][name] = access["cloud"]
    clouds_file.write_text(yaml.safe_dump(clouds))
    return access
