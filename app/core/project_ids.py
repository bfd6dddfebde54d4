"""Ids as Keystone and Nova write them: UUIDs, as 32 hex digits or dashed, ASCII only."""
import re
import uuid

# ASCII hex only: ``uuid.UUID`` itself would accept fullwidth and other Unicode digits. Also the
# pattern OpenAPI documents for ids (an ECMA regex too).
UUID_PATTERN = (r"[0-9a-fA-F]{32}"
                r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_UUID = re.compile(UUID_PATTERN)


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID written exactly as 32 hex digits or in the dashed form (no spaces), or None."""
    return uuid.UUID(value) if _UUID.fullmatch(value) else None


def normalize_project_id(value: str) -> str | None:
    """The canonical (32 lowercase hex) form of a project id, or None if it is no UUID."""
    parsed = parse_uuid(value)
    return parsed.hex if parsed else None
