"""An issuer's signing keys: fetched from its JWKS (found by discovery unless named), cached,
and fetched again for an unknown ``kid`` at most once every ``REFETCH_AFTER`` seconds, so a flood
of forged ``kid``s cannot hammer the issuer. The HTTP itself is the edge's (``JsonFetcher``)."""
import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt

from .access_file import Issuer
from .reloading_file import Signature, signature_of

logger = logging.getLogger(__name__)
REFETCH_AFTER = 30.0  # seconds between fetches of one issuer's keys, at most one each
KEYS_MAX_AGE = 600.0  # cached keys are fetched again this often (a revoked key goes)


class FetchError(Exception):
    """A document could not be fetched or is not JSON; the message says why (never a token)."""


class JsonFetcher(Protocol):
    """Fetches a JSON document over HTTPS (bounded in time and size)."""

    async def __call__(self, url: str, *, ca_file: Path | None = None,
                       bearer: str | None = None) -> Any:
        """The document at ``url``; ``FetchError`` if it cannot be had."""


@dataclass(frozen=True)
class SigningKey:
    """A verification key, and the algorithm its JWK names (None: any of the issuer's)."""

    key: Any
    algorithm: str | None

    def signs(self, algorithm: str) -> bool:
        """Whether the key may verify a token signed with ``algorithm``."""
        return self.algorithm in (None, algorithm)


class BearerFile:
    """A token file read again whenever it changes (the kubelet rotates a projected token)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._signature: Signature | None = None
        self._token = ""

    def token(self) -> str:
        """The file's token as it is now."""
        signature = signature_of(self._path)
        if signature != self._signature:
            self._token, self._signature = self._path.read_text().strip(), signature
        return self._token


class IssuerKeys:
    """One issuer's keys by ``kid``."""

    def __init__(self, issuer: Issuer, fetch: JsonFetcher,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer = issuer
        self._fetch = fetch
        self._clock = clock
        self._bearer = BearerFile(issuer.token_file) if issuer.token_file else None
        self._jwks_uri = issuer.jwks_uri
        self._keys: dict[str | None, SigningKey] = {}
        self._lock = asyncio.Lock()
        self._attempted_at: float | None = None  # the last fetch began (monotonic)
        self._refetched_at: float | None = None  # the last fetch for an unknown kid began
        self.fetched_at: float | None = None  # the last successful fetch (monotonic)
        self.error: str | None = None  # why the last fetch failed, if it did
        self.fetches = 0  # begun
        self._ended = 0  # ended, well or not

    async def key(self, kid: str | None) -> SigningKey | None:
        """The key ``kid`` names (a token without one: the issuer's only key), fetching the keys
        again if it is unknown, at most once every ``REFETCH_AFTER`` s (a forged ``kid`` costs the
        issuer nothing more)."""
        key = self._known(kid)
        if key is not None:
            return key
        if self.fetched_at is None:  # none yet: share the first fetch, or make it when allowed
            if self._lock.locked() or self.due():
                await self.refresh()
            return self._known(kid)
        now = self._clock()
        if self._refetched_at is not None and now - self._refetched_at < REFETCH_AFTER:
            return None
        self._refetched_at = now
        await self.refresh()
        return self._known(kid)

    def _known(self, kid: str | None) -> SigningKey | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    @property
    def count(self) -> int:
        """How many keys are cached."""
        return len(self._keys)

    def due(self) -> bool:
        """Whether the keys should be fetched in the background: never fetched (tried again
        every ``REFETCH_AFTER`` s), or older than ``KEYS_MAX_AGE``."""
        now = self._clock()
        if self._attempted_at is not None and now - self._attempted_at < REFETCH_AFTER:
            return False
        return self.fetched_at is None or now - self.fetched_at > KEYS_MAX_AGE

    async def refresh(self) -> bool:
        """Fetch the keys now; whether that worked. Callers that wait while a fetch is under
        way share its outcome instead of fetching again."""
        ended_before = self._ended
        async with self._lock:
            if self._ended != ended_before:
                return self.error is None  # a fetch ended while this call waited: its outcome
            self._attempted_at = self._clock()
            try:
                keys = await self._fetch_keys()
            except (FetchError, OSError, KeyError, TypeError, AttributeError) as error:
                self._ended += 1
                if self.error is None:  # once, until the issuer answers again
                    logger.warning("cannot fetch the keys of issuer %s (the cached ones stay in force): "
                                   "%s", self.issuer.issuer, error)
                self.error = str(error) or type(error).__name__
                return False
            if self.error is not None:
                logger.info("fetched the keys of issuer %s again", self.issuer.issuer)
            self._keys, self.fetched_at, self.error = keys, self._attempted_at, None
            self._ended += 1
            return True

    async def _fetch_keys(self) -> dict[str | None, SigningKey]:
        self.fetches += 1
        bearer = self._bearer.token() if self._bearer else None
        if self._jwks_uri is None:
            discovery = await self._fetch(
                f"{self.issuer.issuer.rstrip('/')}/.well-known/openid-configuration",
                ca_file=self.issuer.ca_file, bearer=bearer)
            jwks_uri = str(discovery["jwks_uri"])
            if self.issuer.issuer.startswith("https://") and not jwks_uri.startswith("https://"):
                raise FetchError(f"{self.issuer.issuer}: discovery names a JWKS that is not https")
            self._jwks_uri = jwks_uri
        document = await self._fetch(self._jwks_uri, ca_file=self.issuer.ca_file, bearer=bearer)
        keys = {}
        for entry in document["keys"]:
            if entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError:  # a key type this service does not verify with
                continue
            keys[key.key_id] = SigningKey(key.key, entry.get("alg"))
        if not keys:
            raise FetchError(f"{self._jwks_uri}: no usable signing key")
        return keys
