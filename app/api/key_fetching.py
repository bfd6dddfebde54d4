"""The API's outbound HTTP for identity: JSON documents (OpenID discovery, JWKS) fetched with
aiohttp, bounded in time and size, never following redirects."""
import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp

from ..access.issuer_keys import FetchError

MAX_DOCUMENT = 1024 * 1024  # bytes: a JWKS is a few KiB
FETCH_TIMEOUT = 10.0  # seconds for one document, connect to last byte


class KeyFetcher:
    """Fetches issuers' documents over one client session (closed by its owner)."""

    def __init__(self, session: aiohttp.ClientSession, timeout: float = FETCH_TIMEOUT) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._contexts: dict[Path, ssl.SSLContext] = {}

    async def __call__(self, url: str, *, ca_file: Path | None = None, bearer: str | None = None) -> Any:
        """The JSON document at ``url`` (verified against ``ca_file`` if given, with a bearer
        token if given); ``FetchError`` for anything else."""
        headers = {"Accept": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            async with self._session.get(url, headers=headers, ssl=self._context(ca_file),
                                         timeout=self._timeout, allow_redirects=False) as response:
                if response.status != 200:
                    raise FetchError(f"{url}: HTTP {response.status}")
                body = await response.content.read(MAX_DOCUMENT + 1)
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as error:
            raise FetchError(f"{url}: {type(error).__name__} {error}".rstrip()) from None
        if len(body) > MAX_DOCUMENT:
            raise FetchError(f"{url}: larger than {MAX_DOCUMENT} bytes")
        try:
            return json.loads(body)
        except ValueError:
            raise FetchError(f"{url}: not JSON") from None

    def _context(self, ca_file: Path | None) -> ssl.SSLContext | bool:
        """Default verification, or against a private CA (the Kubernetes API server's)."""
        if ca_file is None:
            return True
        if ca_file not in self._contexts:
            self._contexts[ca_file] = ssl.create_default_context(cafile=str(ca_file))
        return self._contexts[ca_file]
