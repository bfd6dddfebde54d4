"""Values as Redis gives them back (bytes), decoded to text."""
from collections.abc import Mapping
from typing import Any


def decode(value: object) -> str:
    """A value Redis gave back, as text (the client answers bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_fields(stored: Mapping[Any, Any] | None) -> dict[str, str]:
    """A hash (or stream entry) Redis gave back, as text."""
    return {decode(name): decode(value) for name, value in (stored or {}).items()}
