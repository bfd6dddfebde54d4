"""A synchronous client for the development issuer (``devtools.dev_issuer``), and the issuer as a
child process on a free 127.0.0.1 port."""
import json
import ssl
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from .processes import start_serving, stop_process


def write_access_file(path: Path, issuer_url: str, audience: str, grants: list[dict[str, Any]],
                      **issuer_fields: Any) -> Path:
    """An access file trusting one issuer, with these grants (their ``issuer`` filled in)."""
    path.write_text(yaml.safe_dump({
        "issuers": [{"issuer": issuer_url, "audience": audience, **issuer_fields}],
        "grants": [{"issuer": issuer_url, **grant} for grant in grants]}))
    return path


class IssuerProcess:
    """``python -m devtools.dev_issuer``, started and stopped."""

    def __init__(self, workdir: Path, *args: str, ca_file: Path | None = None) -> None:
        self.workdir = workdir
        self.args = args
        self._tls = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> "IssuerProcess":
        """Start it and wait until it listens."""
        self.process, self.url = start_serving("devtools.dev_issuer", self.workdir, *self.args)
        return self

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        stop_process(self.process)
        self.process = None

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10, context=self._tls) as response:
            return json.loads(response.read())

    def sign(self, alg: str = "RS256", kid: str | None = None, **claims: Any) -> str:
        """A token with these claims (``iss``, ``iat`` and an hour's ``exp`` unless given)."""
        return str(self._call("POST", "/sign", {"alg": alg, "kid": kid, "claims": claims})["token"])

    def rotate(self, alg: str = "RS256") -> str:
        """A new signing key for ``alg``; its ``kid``."""
        return str(self._call("POST", "/rotate", {"alg": alg})["kid"])

    def stats(self) -> dict[str, int]:
        """How often discovery and the JWKS were fetched."""
        stats: dict[str, int] = self._call("GET", "/stats")
        return stats
