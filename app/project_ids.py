"""Project ids: Keystone writes them as 32 hex digits; clients may send the dashed form."""
import uuid


def normalize_project_id(value: str) -> str | None:
    """The canonical (32 lowercase hex) form of a project id, or None if it is no UUID."""
    text = value.strip()
    if len(text) not in (32, 36):
        return None
    try:
        return uuid.UUID(text).hex
    except ValueError:
        return None
