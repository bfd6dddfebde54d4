"""Bearer tokens scoped to projects with a role, from a YAML file that is re-read when it changes.

The file holds only SHA-256 digests, never tokens::

    tokens:
      - name: search-team
        sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        projects: [4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d]   # or "*" for every project
        role: reader                                  # reader | operator | editor (the default)
"""
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..core.project_ids import normalize_project_id
from .reloading_file import ReloadingFile
from .roles import EDITOR, checked_role

logger = logging.getLogger(__name__)
ALL_PROJECTS = "*"


class TokenFileError(ValueError):
    """The tokens file cannot be used; the message says where."""


@dataclass(frozen=True)
class ApiToken:
    """A caller with a static token: a name for logs, the projects it may use (None: all) and
    its role on them."""

    name: str
    digest: bytes = field(repr=False)
    projects: frozenset[str] | None
    role: str = EDITOR

    def allows(self, project_id: str) -> bool:
        """Whether this token may act on the project at all."""
        return self.projects is None or project_id in self.projects

    def role_on(self, project_id: str) -> str | None:
        """The token's role on the project (None outside its projects)."""
        return self.role if self.allows(project_id) else None


def digest_of(token: str) -> bytes:
    """The SHA-256 digest a tokens file stores for a token."""
    return hashlib.sha256(token.encode()).digest()


def parse_tokens(text: str, source: str = "tokens file") -> list[ApiToken]:
    """Validate a tokens document."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise TokenFileError(f"{source}: not YAML ({error})") from None
    entries = document.get("tokens") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise TokenFileError(f"{source}: expected a mapping with a 'tokens' list")
    tokens = [_parse_entry(entry, f"{source}: tokens[{index}]") for index, entry in enumerate(entries)]
    names = [token.name for token in tokens]
    for name in sorted({name for name in names if names.count(name) > 1}):
        # A name says who called in the access log and is what `tokens revoke` takes: one caller each.
        raise TokenFileError(f"{source}: the name {name!r} is used more than once")
    return tokens


def project_scope(projects: object) -> frozenset[str] | None:
    """A tokens or access file's ``projects``: a non-empty list of project ids (normalized), or
    ``"*"`` for every project (None); ``ValueError`` saying what is wrong."""
    if projects == ALL_PROJECTS:
        return None
    if not isinstance(projects, list) or not projects:
        raise ValueError("'projects' must be a non-empty list or \"*\"")
    normalized = [normalize_project_id(str(project).strip()) for project in projects]
    if None in normalized:
        raise ValueError("every project must be a UUID")
    return frozenset(project for project in normalized if project)


def _parse_entry(entry: object, where: str) -> ApiToken:
    if not isinstance(entry, dict):
        raise TokenFileError(f"{where}: expected a mapping")
    name, digest, projects = entry.get("name"), str(entry.get("sha256", "")), entry.get("projects")
    if not isinstance(name, str) or not name:
        raise TokenFileError(f"{where}: 'name' is required")
    try:
        role, scope = checked_role(entry.get("role", EDITOR)), project_scope(projects)
    except ValueError as error:
        raise TokenFileError(f"{where} ({name}): {error}") from None
    try:
        raw_digest = bytes.fromhex(digest)
    except ValueError:
        raw_digest = b""
    if len(raw_digest) != 32:
        raise TokenFileError(f"{where} ({name}): 'sha256' must be 64 hex digits")
    return ApiToken(name, raw_digest, scope, role)


class TokenRegistry:
    """The tokens in force; the file is checked for changes at most every ``check_interval`` s."""

    def __init__(self, path: Path, check_interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._file = ReloadingFile(path, parse_tokens, "API tokens", check_interval, clock)
        logger.info("loaded %d API tokens from %s", len(self._file.current()), path)

    def authenticate(self, presented: str) -> ApiToken | None:
        """The token matching ``presented``, compared in constant time against every entry."""
        digest = digest_of(presented)
        match = None
        for token in self._file.current():  # no early exit: the time taken does not depend on the match
            if hmac.compare_digest(token.digest, digest):
                match = token
        return match
