"""Checking that a caller may act on a project, and that the project can be reached."""
from collections.abc import Callable

from ..errors import Forbidden, UnknownProject
from .tokens import ApiToken, TokenRegistry


class ProjectAccess:
    """Authenticates callers and checks their scope against the configured projects."""

    def __init__(self, tokens: TokenRegistry, project_known: Callable[[str], bool]) -> None:
        self.tokens = tokens
        self._project_known = project_known

    def authenticate(self, presented: str) -> ApiToken | None:
        """The caller a presented bearer token belongs to, or None."""
        return self.tokens.authenticate(presented)

    def authorize(self, caller: ApiToken, project_id: str) -> None:
        """``Forbidden`` outside the caller's scope, ``UnknownProject`` without credentials."""
        if not caller.allows(project_id):
            raise Forbidden(f"The token '{caller.name}' may not use project {project_id}.")
        if not self._project_known(project_id):
            raise UnknownProject(f"No OpenStack credentials are configured for project {project_id}.")
