"""A project's stored servers as Redis answered them, each decoded only when it is looked at.

A poll lists few servers (the ones Nova changed, and those the ``changes-since`` overlap lists
again), so it decodes few: the rest stay as Redis sent them.
"""
from collections.abc import Collection, Iterator, Mapping

from ..core.records import Server
from .codec import decode_server

# In the compact encoding (``codec``), a server with a task state holds this, and most hold
# ``"task_state":null`` instead: a server without it cannot have a task, and is not decoded.
_HAS_A_TASK = b'"task_state":"'


class StoredServers(Mapping[str, Server]):
    """Server id -> server, decoded on first access."""

    def __init__(self, encoded: Mapping[bytes, bytes]) -> None:
        self._encoded = encoded
        self._decoded: dict[str, Server] = {}

    def __getitem__(self, server_id: str) -> Server:
        server = self._decoded.get(server_id)
        if server is None:
            server = self._decoded[server_id] = decode_server(self._encoded[server_id.encode()])
        return server

    def __contains__(self, server_id: object) -> bool:
        return isinstance(server_id, str) and server_id.encode() in self._encoded

    def __iter__(self) -> Iterator[str]:
        return (server_id.decode() for server_id in self._encoded)

    def __len__(self) -> int:
        return len(self._encoded)

    def with_task_state_in(self, task_states: Collection[str]) -> list[Server]:
        """The servers whose task state is one of ``task_states`` (only those with a task are
        decoded to find them)."""
        return [server for server_id, value in self._encoded.items()
                if _HAS_A_TASK in value
                and (server := self[server_id.decode()])["task_state"] in task_states]
