"""A task of ours shown before Nova shows it: a server being deleted, or powering off, while its
job is queued. The jobs' marks say which servers have one (``jobs/marks.py``); the snapshot keeps
the task shown until the task is seen done or its job ends (``jobs/agreement.py``)."""
from collections.abc import Mapping
from typing import Protocol

from ..core.records import Server
from ..openstack.translation import DELETING, SERVICE_TASK_STATES
from .stored_servers import StoredServers


class PendingTasks(Protocol):
    """Which servers have a job of ours under way."""

    async def delete_pending(self, project_id: str, server_id: str) -> bool:
        """Whether a delete job for the server is queued or running."""

    async def pending_action(self, project_id: str, server_id: str) -> str | None:
        """The task state of the server's queued or running action, if it has one."""

    async def action_reached(self, project_id: str, server: Server) -> bool:
        """Whether the server, observed idle, is where its pending action ends (which finishes
        that action's job); False while the action is not done, or cannot be seen to be."""


async def has_orphaned_tasks(tasks: PendingTasks, project_id: str, servers: StoredServers) -> bool:
    """Whether one of the project's stored ``servers`` shows a task of ours (deleting,
    powering-off…) with no job of ours under way (it failed and could not show Nova's record
    again): then only a full listing sets it right, since an incremental one does not hold a
    server Nova did not change."""
    for server in servers.with_task_state_in(SERVICE_TASK_STATES):
        if (not await tasks.delete_pending(project_id, server["id"])
                and await tasks.pending_action(project_id, server["id"]) is None):
            return True
    return False


async def with_pending_tasks(tasks: PendingTasks, project_id: str, servers: list[Server],
                             before: Mapping[str, Server]) -> list[Server]:
    """The servers, where one shown with a task of ours keeps it: deleting until Nova confirms
    the removal, an action's task state (powering-off…) until the action is seen done (which
    finishes its job: ``jobs/agreement.py``) or its job ends."""
    kept = []
    for server in servers:
        stored = before.get(server["id"])
        if (stored and stored["task_state"] == DELETING and server["task_state"] is None
                and await tasks.delete_pending(project_id, server["id"])):
            server = {**server, "task_state": DELETING}
        elif (stored and stored["task_state"] and server["task_state"] is None
                and (pending := await tasks.pending_action(project_id, server["id"])) is not None
                and not await tasks.action_reached(project_id, server)):
            server = {**server, "task_state": pending}  # not begun, or not seen done (a resize
            # idle in VERIFY_RESIZE that its job confirms next)
        kept.append(server)
    return kept
