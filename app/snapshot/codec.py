"""The one encoding of records in Redis: compact JSON, a server's keys in ``Server``'s order."""
import hashlib
import json
from typing import Any, cast

from ..core.records import SERVER_FIELDS, Server


def encode(value: Any) -> str:
    """Compact JSON, as stored and served."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encode_server(server: Server) -> str:
    """A server as stored: exactly its record's fields, always in the same order (stable ETags)."""
    return encode({name: server[name] for name in SERVER_FIELDS})  # type: ignore[literal-required]


def decode_server(raw: bytes | str) -> Server:
    """A stored server."""
    return cast(Server, json.loads(raw))


def etag_of(body: bytes) -> str:
    """A strong ETag for a body the API renders itself (a filtered page)."""
    return '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest() + '"'
