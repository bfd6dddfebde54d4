"""Ids as Keystone and Nova write them: UUIDs, as 32 hex digits or dashed, ASCII only."""
import re
import uuid

# ASCII only (``re.ASCII``): ``uuid.UUID`` itself would accept fullwidth and other Unicode digits.
_UUID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                   re.ASCII | re.IGNORECASE)


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID written exactly as 32 hex digits or in the dashed form (no spaces), or None."""
    return uuid.UUID(value) if _UUID.fullmatch(value) else None


def normalize_project_id(value: str) -> str | None:
    """The canonical (32 lowercase hex) form of a project id, or None if it is no UUID."""
    parsed = parse_uuid(value)
    return parsed.hex if parsed else None
