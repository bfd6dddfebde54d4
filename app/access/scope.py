"""Checking that a caller may act on a project, that the project can be reached, and that the
caller has not used up its rate limits."""
from collections.abc import Callable, Mapping

from ..core.errors import Forbidden, UnknownProject
from .rate_limits import RateLimiter
from .tokens import ApiToken, TokenRegistry

WRITES, LIVE_READS = "writes", "live reads"


class ProjectAccess:
    """Authenticates callers, checks their scope against the configured projects, throttles."""

    def __init__(self, tokens: TokenRegistry, project_known: Callable[[str], bool],
                 limiter: RateLimiter, per_minute: Mapping[str, int]) -> None:
        self.tokens = tokens
        self._project_known = project_known
        self._limiter = limiter
        self._per_minute = per_minute

    def authenticate(self, presented: str) -> ApiToken | None:
        """The caller a presented bearer token belongs to, or None."""
        return self.tokens.authenticate(presented)

    def authorize(self, caller: ApiToken, project_id: str) -> None:
        """``Forbidden`` outside the caller's scope, ``UnknownProject`` without credentials."""
        if not caller.allows(project_id):
            raise Forbidden(f"The token '{caller.name}' may not use project {project_id}.")
        if not self._project_known(project_id):
            raise UnknownProject(f"No OpenStack credentials are configured for project {project_id}.")

    async def throttle(self, caller: ApiToken, kind: str) -> None:
        """Count a write or a live read against the caller's limit; ``RateLimited`` past it."""
        await self._limiter.take(caller.name, kind, self._per_minute[kind])
