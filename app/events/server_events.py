"""Events: what changed, with an id derived from the observation.

An event's id is derived from what was observed (project, server, kind of change, new state,
Nova's ``updated``), so the same change seen twice (two pollers, an API refresh racing a
poll, a retried poll, a job announcing what a poll already saw) carries the same id.
"""
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.records import Server, Volume

_EVENT_NAMESPACE = uuid.UUID("0d7c1bd4-3f55-4c43-9a52-8c6d0bb3a0f1")
CREATED, STATUS_CHANGED, UPDATED, TASK_STATE_CHANGED, DELETED = (
    "server.created", "server.status_changed", "server.updated", "server.task_state_changed",
    "server.deleted")
JOB_SUCCEEDED, JOB_FAILED, PING = "job.succeeded", "job.failed", "webhook.ping"
VOLUME_CREATED, VOLUME_STATUS_CHANGED, VOLUME_DELETED = (
    "volume.created", "volume.status_changed", "volume.deleted")
# What subscribers and listeners get unless they name types; internal records only when named.
PUBLIC_TYPES = (CREATED, STATUS_CHANGED, UPDATED, DELETED, JOB_SUCCEEDED, JOB_FAILED,
                VOLUME_CREATED, VOLUME_STATUS_CHANGED, VOLUME_DELETED)
# What a server.updated names as changed (in a change of status, the status_changed event says it).
UPDATED_FIELDS = ("name", "metadata", "flavor", "image", "key_name", "addresses", "volumes_attached")
INTERNAL_TYPES = (TASK_STATE_CHANGED,)
EVENT_TYPES = (*PUBLIC_TYPES, *INTERNAL_TYPES)
# A server is created once and deleted once, whoever notices (a job or a poll): same event id.
CREATED_FINGERPRINT, DELETED_FINGERPRINT = "created", "gone"


@dataclass(frozen=True)
class ServerEvent:
    """One observed change of one server (or a job's outcome)."""

    project_id: str
    type: str
    server_id: str
    fingerprint: str
    data: dict[str, Any] = field(hash=False)

    @property
    def id(self) -> str:
        """Stable: the same observation always gives the same id."""
        return str(uuid.uuid5(_EVENT_NAMESPACE, "|".join(
            (self.project_id, self.server_id, self.type, self.fingerprint))))


def volume_change(project_id: str, before: Volume | None, after: Volume | None) -> ServerEvent | None:
    """The event of a volume's change (its events share a lane, the volume's id), if any: made,
    gone, or another status (or attachments)."""
    if before is None and after is not None:
        return ServerEvent(project_id, VOLUME_CREATED, after["id"], CREATED_FINGERPRINT, {"volume": after})
    if before is not None and after is None:
        return ServerEvent(project_id, VOLUME_DELETED, before["id"], DELETED_FINGERPRINT, {"volume": before})
    if before is None or after is None or (before["status"], before["attachments"]) == (
            after["status"], after["attachments"]):
        return None
    stamp = f"{after['status']}|{','.join(after['attachments'])}|{after['updated']}"
    return ServerEvent(project_id, VOLUME_STATUS_CHANGED, after["id"], stamp,
                       {"from": before["status"], "to": after["status"], "volume": after})


def changes_between(project_id: str, before: Mapping[str, Server], upserts: Iterable[Server],
                    removals: Iterable[str]) -> list[ServerEvent]:
    """The events that turn ``before`` into ``before`` + ``upserts`` - ``removals``."""
    events = []
    for server in upserts:
        old = before.get(server["id"])
        stamp = f"{server['status']}|{server['task_state']}|{server['updated']}"
        if old is None:
            events.append(ServerEvent(project_id, CREATED, server["id"], CREATED_FINGERPRINT,
                                      {"server": server}))
        elif old["status"] != server["status"]:
            events.append(ServerEvent(project_id, STATUS_CHANGED, server["id"], stamp, {
                "from": old["status"], "to": server["status"], "task_state": server["task_state"],
                "server": server}))
        elif old["task_state"] != server["task_state"]:
            events.append(ServerEvent(project_id, TASK_STATE_CHANGED, server["id"], stamp, {
                "from": old["task_state"], "to": server["task_state"], "server": server}))
        elif changed := [name for name in UPDATED_FIELDS if old.get(name) != server.get(name)]:
            events.append(ServerEvent(project_id, UPDATED, server["id"], f"{stamp}|{','.join(changed)}",
                                      {"changed": changed, "server": server}))
    for server_id in removals:
        if server_id in before:
            events.append(ServerEvent(project_id, DELETED, server_id, DELETED_FINGERPRINT, {
                "server": before[server_id]}))
    return events
