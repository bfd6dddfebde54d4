"""Bearer tokens scoped to projects, from a YAML file that is re-read when it changes.

The file holds only SHA-256 digests, never tokens::

    tokens:
      - name: search-team
        sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        projects: [4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d]   # or "*" for every project
"""
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..core.project_ids import normalize_project_id

logger = logging.getLogger(__name__)
ALL_PROJECTS = "*"


class TokenFileError(ValueError):
    """The tokens file cannot be used; the message says where."""


@dataclass(frozen=True)
class ApiToken:
    """A caller: a name for logs and the projects it may use (None: all)."""

    name: str
    digest: bytes = field(repr=False)
    projects: frozenset[str] | None

    def allows(self, project_id: str) -> bool:
        """Whether this token may act on the project."""
        return self.projects is None or project_id in self.projects


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


def _parse_entry(entry: object, where: str) -> ApiToken:
    if not isinstance(entry, dict):
        raise TokenFileError(f"{where}: expected a mapping")
    name, digest, projects = entry.get("name"), str(entry.get("sha256", "")), entry.get("projects")
    if not isinstance(name, str) or not name:
        raise TokenFileError(f"{where}: 'name' is required")
    try:
        raw_digest = bytes.fromhex(digest)
    except ValueError:
        raw_digest = b""
    if len(raw_digest) != 32:
        raise TokenFileError(f"{where} ({name}): 'sha256' must be 64 hex digits")
    if projects == ALL_PROJECTS:
        return ApiToken(name, raw_digest, None)
    if not isinstance(projects, list) or not projects:
        raise TokenFileError(f"{where} ({name}): 'projects' must be a non-empty list or \"*\"")
    normalized = [normalize_project_id(str(p).strip()) for p in projects]
    if None in normalized:
        raise TokenFileError(f"{where} ({name}): every project must be a UUID")
    return ApiToken(name, raw_digest, frozenset(p for p in normalized if p))


class TokenRegistry:
    """The tokens in force; the file is checked for changes at most every ``check_interval`` s."""

    def __init__(self, path: Path, check_interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._check_interval = check_interval
        self._clock = clock
        self._signature = self._stat()
        self._tokens = parse_tokens(path.read_text(), str(path))
        self._checked_at = clock()
        logger.info("loaded %d API tokens from %s", len(self._tokens), path)

    def _stat(self) -> tuple[int, int, int]:
        info = os.stat(self._path)  # follows the symlinks a Kubernetes secret volume swaps
        return info.st_mtime_ns, info.st_size, info.st_ino

    def _reload_if_changed(self) -> None:
        now = self._clock()
        if now - self._checked_at < self._check_interval:
            return
        self._checked_at = now
        try:
            signature = self._stat()
            if signature == self._signature:
                return
            self._tokens = parse_tokens(self._path.read_text(), str(self._path))
            self._signature = signature
            logger.info("reloaded %d API tokens from %s", len(self._tokens), self._path)
        except (OSError, TokenFileError) as error:
            logger.error("keeping the previous API tokens: %s", error)

    def authenticate(self, presented: str) -> ApiToken | None:
        """The token matching ``presented``, compared in constant time against every entry."""
        self._reload_if_changed()
        digest = digest_of(presented)
        match = None
        for token in self._tokens:  # no early exit: the time taken does not depend on the match
            if hmac.compare_digest(token.digest, digest):
                match = token
        return match
