"""Stored servers are decoded only when looked at."""
import json

from app.snapshot.stored_servers import StoredServers


def encoded(server_id: str, task_state: str | None, name: str = "web") -> bytes:
    return json.dumps({"id": server_id, "name": name, "task_state": task_state},
                      separators=(",", ":")).encode()


def test_a_server_is_decoded_when_looked_at():
    servers = StoredServers({b"a": encoded("a", None), b"broken": b"not JSON"})

    assert servers["a"] == {"id": "a", "name": "web", "task_state": None}
    assert set(servers) == {"a", "broken"} and len(servers) == 2


def test_only_servers_with_a_task_are_decoded_to_find_one():
    servers = StoredServers({
        b"deleting": encoded("deleting", "deleting"),
        b"stopping": encoded("stopping", "powering-off"),
        b"named-so": encoded("named-so", None, name="deleting"),  # no task, whatever its name
        b"other": encoded("other", "rebuilding"),
        b"broken": b'{"task_state":null, and never decoded',  # no task: not decoded
    })

    found = servers.with_task_state_in({"deleting", "powering-off"})

    assert sorted(server["id"] for server in found) == ["deleting", "stopping"]
