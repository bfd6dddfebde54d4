"""Signing secrets at rest: encrypted with Fernet keys read from a file (a Kubernetes Secret).

The file holds one key a line. The first key encrypts; every key decrypts, so keys rotate by
putting a new key first and dropping the old one once ``rotate`` has re-encrypted what it held.
"""
import base64
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


class SecretKeysError(ValueError):
    """The keys file is missing, empty or holds something that is not a Fernet key."""


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and 32 random bytes in base64 (Standard Webhooks)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key a ``whsec_`` secret stands for, as HMAC takes it."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


class SecretBox:
    """Encrypts and decrypts the secrets kept in Redis."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretKeysError("no encryption key given")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError as error:
            raise SecretKeysError(f"not a Fernet key: {error}") from None

    @classmethod
    def from_file(cls, path: Path) -> "SecretBox":
        """The box over the keys of ``path``, one a line (blank lines and ``#`` comments skipped)."""
        try:
            lines = path.read_text().splitlines()
        except OSError as error:
            raise SecretKeysError(f"{path}: {error.strerror}") from None
        keys = [line.strip().encode() for line in lines if line.strip() and not line.startswith("#")]
        if not keys:
            raise SecretKeysError(f"{path} holds no key")
        return cls(keys)

    def seal(self, plain: str) -> str:
        """``plain``, encrypted with the first key."""
        return self._fernet.encrypt(plain.encode()).decode()

    def reseal(self, sealed: str) -> str:
        """``sealed`` sealed again with the first key (so older keys can be dropped)."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise SecretKeysError("a stored secret was sealed with a key no longer given") from None

    def open(self, sealed: str) -> str:
        """What ``seal`` sealed, with whichever key sealed it; ``SecretKeysError`` if none did."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretKeysError("a stored secret was sealed with a key no longer given") from None


def generate_key() -> str:
    """A new Fernet key, for a keys file."""
    return Fernet.generate_key().decode()
