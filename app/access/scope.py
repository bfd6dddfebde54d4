"""Checking that a caller may act on a project with the role a request needs, that the project
can be reached, and that the caller has not used up its rate limits."""
from collections.abc import Callable, Mapping
from typing import Protocol

from ..core.errors import Forbidden, UnknownProject
from .jwt_verifier import JwtVerifier, looks_like_jwt
from .rate_limits import RateLimiter
from .roles import allows
from .tokens import TokenRegistry

WRITES, LIVE_READS = "writes", "live reads"


class Caller(Protocol):
    """Who asked: a static token or a verified JWT."""

    @property
    def name(self) -> str:
        """What the logs and the rate limits call it (never a token)."""

    def role_on(self, project_id: str) -> str | None:
        """Its role on a project (None: it may not use it)."""


class ProjectAccess:
    """Authenticates callers, checks their roles against the configured projects, throttles."""

    def __init__(self, tokens: TokenRegistry | None, jwts: JwtVerifier | None,
                 project_known: Callable[[str], bool], limiter: RateLimiter,
                 per_minute: Mapping[str, int]) -> None:
        self._tokens = tokens
        self.jwts = jwts
        self._project_known = project_known
        self._limiter = limiter
        self._per_minute = per_minute

    async def authenticate(self, presented: str) -> Caller | None:
        """The caller a presented bearer token (static, or a JWT of a trusted issuer) is, or None."""
        if self.jwts is not None and looks_like_jwt(presented):
            return await self.jwts.verify(presented)
        return self._tokens.authenticate(presented) if self._tokens is not None else None

    def authorize(self, caller: Caller, project_id: str, needed: str) -> None:
        """``Forbidden`` unless the caller's role on the project allows ``needed``;
        ``UnknownProject`` for a project without credentials."""
        role = caller.role_on(project_id)
        if role is None:
            raise Forbidden(f"The caller '{caller.name}' may not use project {project_id}.")
        if not allows(role, needed):
            raise Forbidden(f"This request needs the '{needed}' role on project {project_id}; "
                            f"the caller '{caller.name}' has '{role}'.")
        if not self._project_known(project_id):
            raise UnknownProject(f"No OpenStack credentials are configured for project {project_id}.")

    async def throttle(self, caller: Caller, kind: str) -> None:
        """Count a write or a live read against the caller's limit; ``RateLimited`` past it."""
        await self._limiter.take(caller.name, kind, self._per_minute[kind])
