"""Helpers for the identity tests: an access file trusting the development issuer, JWTs forged in
the ways an attacker would, and bearer headers."""
import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from devtools.issuer_client import write_access_file as trust

AUDIENCE = "cloud-servers-api"


def write_access_file(path: Path, issuer_url: str, grants: list[dict[str, Any]],
                      **issuer_fields: Any) -> Path:
    """An access file trusting one issuer for this API's audience, with these grants."""
    return trust(path, issuer_url, AUDIENCE, grants, **issuer_fields)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def _segment(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def unsigned(token: str) -> str:
    """The token's claims with ``alg: none`` and no signature."""
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    return f"{_segment({**header, 'alg': 'none'})}.{token.split('.')[1]}."


def tampered(token: str, **changes: Any) -> str:
    """The token with its payload changed and its signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return f"{header}.{_segment({**claims, **changes})}.{signature}"


def tampered_header(token: str, **changes: Any) -> str:
    """The token with its header changed and its signature kept."""
    header, payload, signature = token.split(".")
    fields = {**json.loads(base64.urlsafe_b64decode(header + "==")), **changes}
    return f"{_segment(fields)}.{payload}.{signature}"


def signed_with_public_key(token: str, public_pem: bytes) -> str:
    """The token's claims as HS256, keyed with the issuer's public key (the classic confusion)."""
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    signing_input = f"{_segment({**header, 'alg': 'HS256'})}.{token.split('.')[1]}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
