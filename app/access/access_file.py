"""``ACCESS_FILE``: the trusted JWT issuers and the grants that give their tokens projects and
roles (the contract's "Identity and roles")::

    issuers:
      - issuer: https://idp.example.com           # the token's `iss`, exactly
        audience: cloud-servers-api               # must be in the token's `aud`
        jwks_uri: https://idp.example.com/jwks    # optional; else from discovery
        algorithms: [RS256, ES256]                # optional, this default; never none or HS*
        ca_file: /etc/ssl/private-ca.pem          # optional
        token_file: /var/run/secrets/…/token      # optional bearer to fetch the JWKS with
    grants:
      - issuer: https://idp.example.com
        subject: system:serviceaccount:team-a:deployer   # equal to `sub`, and/or
        claims: {groups: team-b}                  # each claim equal, or a list containing it
        projects: ["<project uuid>"]              # or "*"
        role: reader                              # reader | operator | editor

A file with anything invalid is refused whole.
"""
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .roles import checked_role, highest
from .tokens import project_scope

DEFAULT_ALGORITHMS = ("RS256", "ES256")
# Asymmetric algorithms only: never ``none``, never an HMAC whose secret would be a public key.
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_ISSUER_KEYS = {"issuer", "audience", "jwks_uri", "algorithms", "ca_file", "token_file"}
_GRANT_KEYS = {"issuer", "subject", "claims", "projects", "role"}
Scalar = str | int | float | bool


class AccessFileError(ValueError):
    """The access file cannot be used; the message says where."""


@dataclass(frozen=True)
class Issuer:
    """A trusted issuer of JWTs and how to fetch its keys."""

    issuer: str
    audience: str
    jwks_uri: str | None
    algorithms: tuple[str, ...]
    ca_file: Path | None
    token_file: Path | None


@dataclass(frozen=True)
class Grant:
    """Projects and a role for the tokens of an issuer with a subject and/or claims."""

    issuer: str
    subject: str | None
    claims: tuple[tuple[str, Scalar], ...]
    projects: frozenset[str] | None  # None: every project
    role: str

    def matches(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token's claims are this grant's."""
        if claims.get("iss") != self.issuer:
            return False
        if self.subject is not None and claims.get("sub") != self.subject:
            return False
        for name, wanted in self.claims:
            value = claims.get(name)
            if value != wanted and not (isinstance(value, list) and wanted in value):
                return False
        return True


@dataclass(frozen=True)
class JwtCaller:
    """A caller with a verified JWT: named by its subject and issuer, with its grants' union."""

    name: str
    roles: Mapping[str, str]  # project id -> role
    everywhere: str | None  # the role a "*" grant gives on every project

    def role_on(self, project_id: str) -> str | None:
        """The highest role the caller's grants give it on the project."""
        return highest((self.roles.get(project_id), self.everywhere))


@dataclass(frozen=True)
class AccessPolicy:
    """The issuers (by ``iss``) and the grants of an access file."""

    issuers: Mapping[str, Issuer]
    grants: tuple[Grant, ...]

    def caller(self, claims: Mapping[str, Any]) -> JwtCaller:
        """The caller a verified token's claims make (with no role anywhere if no grant matches)."""
        roles: dict[str, str] = {}
        everywhere: str | None = None
        for grant in self.grants:
            if not grant.matches(claims):
                continue
            if grant.projects is None:
                everywhere = highest((everywhere, grant.role))
            for project_id in grant.projects or ():
                roles[project_id] = highest((roles.get(project_id), grant.role)) or grant.role
        return JwtCaller(f"{claims['sub']} ({claims['iss']})", roles, everywhere)


def parse_access_file(text: str, source: str = "access file", allow_http: bool = False) -> AccessPolicy:
    """Validate an access file; ``AccessFileError`` saying where, for anything it cannot use."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise AccessFileError(f"{source}: not YAML ({error})") from None
    if not isinstance(document, dict) or set(document) - {"issuers", "grants"}:
        raise AccessFileError(f"{source}: expected a mapping of 'issuers' and 'grants'")
    issuers = [_issuer(entry, f"{source}: issuers[{index}]", allow_http)
               for index, entry in enumerate(_list(document, "issuers", source))]
    by_name = {issuer.issuer: issuer for issuer in issuers}
    if len(by_name) < len(issuers):
        raise AccessFileError(f"{source}: an issuer is listed more than once")
    grants = tuple(_grant(entry, f"{source}: grants[{index}]", by_name)
                   for index, entry in enumerate(_list(document, "grants", source)))
    return AccessPolicy(by_name, grants)


def _list(document: dict[str, Any], key: str, source: str) -> list[Any]:
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise AccessFileError(f"{source}: '{key}' must be a list")
    return entries


def _mapping(entry: object, where: str, known: set[str]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise AccessFileError(f"{where}: expected a mapping")
    unknown = sorted(set(entry) - known)
    if unknown:
        raise AccessFileError(f"{where}: unknown keys {', '.join(map(str, unknown))}")
    return entry


def _url(value: object, where: str, what: str, allow_http: bool) -> str:
    schemes = ("https://", "http://") if allow_http else ("https://",)
    if not isinstance(value, str) or not value.startswith(schemes) or len(value) <= len("https://"):
        plain = "" if allow_http else " (http:// only with OIDC_ALLOW_HTTP=true)"
        raise AccessFileError(f"{where}: '{what}' must be an https:// URL{plain}")
    return value


def _file(value: object, where: str, what: str) -> Path | None:
    if value is None:
        return None
    path = Path(str(value))
    if not path.is_file():
        raise AccessFileError(f"{where}: '{what}' {path} is not a readable file")
    return path


def _issuer(entry: object, where: str, allow_http: bool) -> Issuer:
    fields = _mapping(entry, where, _ISSUER_KEYS)
    issuer = _url(fields.get("issuer"), where, "issuer", allow_http)
    audience = fields.get("audience")
    if not isinstance(audience, str) or not audience:
        raise AccessFileError(f"{where} ({issuer}): 'audience' is required")
    algorithms = fields.get("algorithms", list(DEFAULT_ALGORITHMS))
    if (not isinstance(algorithms, list) or not algorithms
            or not all(isinstance(a, str) and a in ASYMMETRIC for a in algorithms)):
        raise AccessFileError(f"{where} ({issuer}): 'algorithms' must list some of "
                              f"{', '.join(ASYMMETRIC)} (never none or HS*)")
    jwks_uri = fields.get("jwks_uri")
    return Issuer(issuer, audience,
                  None if jwks_uri is None else _url(jwks_uri, where, "jwks_uri", allow_http),
                  tuple(algorithms), _file(fields.get("ca_file"), where, "ca_file"),
                  _file(fields.get("token_file"), where, "token_file"))


def _grant(entry: object, where: str, issuers: Mapping[str, Issuer]) -> Grant:
    fields = _mapping(entry, where, _GRANT_KEYS)
    issuer, subject, claims = fields.get("issuer"), fields.get("subject"), fields.get("claims") or {}
    if issuer not in issuers:
        raise AccessFileError(f"{where}: 'issuer' must be one of the issuers listed")
    if subject is not None and (not isinstance(subject, str) or not subject):
        raise AccessFileError(f"{where}: 'subject' must be a string")
    if not isinstance(claims, dict) or not all(
            isinstance(name, str) and isinstance(value, Scalar) for name, value in claims.items()):
        raise AccessFileError(f"{where}: 'claims' must map claim names to single values")
    if subject is None and not claims:
        raise AccessFileError(f"{where}: a grant names a 'subject', 'claims' or both")
    try:
        role, projects = checked_role(fields.get("role")), project_scope(fields.get("projects"))
    except ValueError as error:
        raise AccessFileError(f"{where}: {error}") from None
    return Grant(str(issuer), subject, tuple(sorted(claims.items())), projects, role)
