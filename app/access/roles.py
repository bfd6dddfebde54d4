"""Roles: what a caller may do on a project. Each allows what the ones before it do."""
from collections.abc import Iterable

READER, OPERATOR, EDITOR = "reader", "operator", "editor"
ROLES = (READER, OPERATOR, EDITOR)  # reader: every GET; operator: also actions; editor: also writes


def allows(role: str | None, needed: str) -> bool:
    """Whether ``role`` (None: none on the project) may do what ``needed`` may."""
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


def checked_role(role: object) -> str:
    """``role`` if it is one; ``ValueError`` saying which there are if not."""
    if role not in ROLES:
        raise ValueError(f"'role' must be one of {', '.join(ROLES)}")
    return str(role)


def highest(roles: Iterable[str | None]) -> str | None:
    """The role that allows the most among ``roles`` (None if there is none)."""
    given = [role for role in roles if role is not None]
    return max(given, key=ROLES.index) if given else None
