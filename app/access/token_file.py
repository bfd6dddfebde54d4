"""Editing the tokens file: a new token (printed once, stored as its digest), the list, a revoke.

Entries keep the format ``TokenRegistry`` reads, with a ``created`` date beside; the file is
replaced atomically (readable by its owner only), so a running API reloads a whole file.
"""
import os
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ..core.project_ids import normalize_project_id
from .roles import EDITOR, checked_role
from .tokens import ALL_PROJECTS, TokenFileError, digest_of, parse_tokens

TOKEN_BYTES = 32


def _entries(path: Path) -> list[dict[str, Any]]:
    """The file's entries, validated (none if the file does not exist yet)."""
    if not path.exists():
        return []
    text = path.read_text()
    parse_tokens(text, str(path))
    entries: list[dict[str, Any]] = (yaml.safe_load(text) or {}).get("tokens", [])
    return entries


def _write(path: Path, entries: list[dict[str, Any]]) -> None:
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as out:
        yaml.safe_dump({"tokens": entries}, out, sort_keys=False)
    os.chmod(partial, 0o600)
    os.replace(partial, path)


def add_token(path: Path, projects: list[str] | None, name: str | None = None,
              role: str = EDITOR) -> tuple[str, str]:
    """Add a token with ``role`` on ``projects`` (None: every project); its name and the token,
    which is shown only now: the file keeps its SHA-256 digest."""
    entries = _entries(path)
    name = name or f"token-{secrets.token_hex(4)}"
    if any(entry.get("name") == name for entry in entries):
        raise TokenFileError(f"{path}: a token named {name!r} exists already; revoke it first")
    scope: str | list[str] = ALL_PROJECTS
    if projects is not None:
        normalized = [normalize_project_id(project) for project in projects]
        if not normalized or None in normalized:
            raise TokenFileError("every --project must be a project id (a UUID)")
        scope = sorted({project for project in normalized if project})
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        checked_role(role)
    except ValueError as error:
        raise TokenFileError(str(error)) from None
    entries.append({"name": name, "sha256": digest_of(token).hex(), "projects": scope, "role": role,
                    "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    _write(path, entries)
    return name, token


def list_tokens(path: Path) -> list[dict[str, Any]]:
    """Each token's name, projects, role and creation date; never a token or its digest."""
    return [{"name": entry["name"], "projects": entry["projects"], "role": entry.get("role", EDITOR),
             "created": entry.get("created")} for entry in _entries(path)]


def revoke_token(path: Path, name: str) -> bool:
    """Remove the token named ``name``; False if there is none."""
    entries = _entries(path)
    kept = [entry for entry in entries if entry.get("name") != name]
    if len(kept) == len(entries):
        return False
    _write(path, kept)
    return True
