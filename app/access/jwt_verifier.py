"""Verifying JWTs locally: the signature with a cached key of a trusted issuer, then ``iss``,
``aud``, ``exp`` (required), ``nbf`` and ``sub`` (required) with ``LEEWAY`` seconds, and an
algorithm from the issuer's list. A verified token's caller is cached until the token expires
(or the access file changes), so a request costs no verification, and never a network call,
after its token's first."""
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

import jwt

from .access_file import AccessPolicy, Issuer, JwtCaller
from .issuer_keys import IssuerKeys, JsonFetcher
from .reloading_file import ReloadingFile

logger = logging.getLogger(__name__)
LEEWAY = 60  # seconds of clock skew allowed on exp and nbf
MAX_TOKEN = 16 * 1024  # characters: a longer bearer is no JWT of ours
CACHED_CALLERS = 10_000  # verified tokens kept


def looks_like_jwt(presented: str) -> bool:
    """Whether a bearer token has a JWT's shape (three dot-separated parts); static tokens have none."""
    return presented.count(".") == 2 and len(presented) <= MAX_TOKEN


class JwtVerifier:
    """Verifies the JWTs of the issuers the access file trusts."""

    def __init__(self, policy: ReloadingFile[AccessPolicy], fetch: JsonFetcher,
                 clock: Callable[[], float] = time.time) -> None:
        self._policy = policy
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[Issuer, IssuerKeys] = {}
        self._verified: dict[bytes, tuple[JwtCaller, float, int]] = {}  # digest -> caller, until, version

    async def verify(self, token: str) -> JwtCaller | None:
        """The caller a valid token makes, or None (a caller its grants give no project to is
        still a caller: it gets a 403, not a 401)."""
        policy = self._policy.current()
        digest = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        cached = self._verified.get(digest)
        if cached is not None and cached[1] > now and cached[2] == self._policy.version:
            return cached[0]
        claims = await self._claims(token, policy)
        if claims is None:
            return None
        caller = policy.caller(claims)
        self._remember(digest, (caller, float(claims["exp"]) + LEEWAY, self._policy.version), now)
        return caller

    async def _claims(self, token: str, policy: AccessPolicy) -> dict[str, Any] | None:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
            issuer = policy.issuers.get(str(unverified.get("iss")))
        except jwt.PyJWTError as error:
            logger.debug("bearer token refused: not a JWT (%s)", type(error).__name__)
            return None
        algorithm, kid = header.get("alg"), header.get("kid")
        if issuer is None or algorithm not in issuer.algorithms or not isinstance(kid, str | None):
            logger.debug("JWT refused: untrusted issuer, algorithm or key id")
            return None
        key = await self.keys_of(issuer).key(kid)
        if key is None or not key.signs(algorithm):
            logger.debug("JWT of %s refused: no key %r for %s", issuer.issuer, kid, algorithm)
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=[algorithm], audience=issuer.audience, issuer=issuer.issuer,
                leeway=LEEWAY, options={"require": ["exp", "iss", "aud", "sub"]})
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            logger.debug("JWT of %s refused: %s", issuer.issuer, type(error).__name__)
            return None
        return claims if isinstance(claims.get("sub"), str) and claims["sub"] else None

    def keys_of(self, issuer: Issuer) -> IssuerKeys:
        """The keys of an issuer as the access file now describes it."""
        keys = self._keys.get(issuer)
        if keys is None:
            keys = self._keys[issuer] = IssuerKeys(issuer, self._fetch)
        return keys

    def issuers(self) -> list[IssuerKeys]:
        """The keys of every issuer the access file trusts now."""
        return [self.keys_of(issuer) for issuer in self._policy.current().issuers.values()]

    async def refresh_due(self) -> None:
        """Fetch the keys of every issuer whose keys are due (never fetched, or old)."""
        for keys in self.issuers():
            if keys.due():
                await keys.refresh()

    def _remember(self, digest: bytes, entry: tuple[JwtCaller, float, int], now: float) -> None:
        if len(self._verified) >= CACHED_CALLERS:
            self._verified = {d: e for d, e in self._verified.items() if e[1] > now}
            while len(self._verified) >= CACHED_CALLERS:  # the oldest go first
                del self._verified[next(iter(self._verified))]
        self._verified[digest] = entry
