"""What clients see and what the API allows agree. A server with an action of ours pending shows
that action's task state until the action is done; an observation of the server (a show, a poll,
a list refresh) that reaches where the action ends (stop: SHUTOFF, start: ACTIVE, idle) finishes
its job at once, so that a client that sees the server idle can act on it. A reboot, which ends
where it began, shows its task state until its job ends."""
import logging

from ..core.records import Server
from ..events.stream import EventStream
from .actions import observable_end
from .job import SUCCEEDED, succeeded_event
from .job_store import JobStore
from .marks import ServerMarks

logger = logging.getLogger(__name__)


class ActionAgreement:
    """The pending tasks the snapshot shows (``snapshot/pending_tasks.py``), from the jobs' marks,
    and the end of an action's job by an observation."""

    def __init__(self, marks: ServerMarks, jobs: JobStore, events: EventStream) -> None:
        self._marks = marks
        self._jobs = jobs
        self._events = events

    async def delete_pending(self, project_id: str, server_id: str) -> bool:
        """Whether a delete job for the server is queued or running."""
        return await self._marks.delete_pending(project_id, server_id)

    async def pending_action(self, project_id: str, server_id: str) -> str | None:
        """The task state of the server's queued or running action, if it has one."""
        return await self._marks.pending_action(project_id, server_id)

    async def action_reached(self, project_id: str, server: Server) -> bool:
        """Whether the server, observed idle, is where its pending action ends (then that
        action's job has succeeded, finished here if its runner had not yet seen it)."""
        pending = await self._marks.action_of(project_id, server["id"])
        if pending is None:
            return True  # its job ended meanwhile: nothing is pending
        if server["task_state"] is not None or server["status"] != observable_end(pending.task_state):
            return False
        if await self._marks.clear_action(project_id, server["id"], pending.job_id):
            job = await self._jobs.get(project_id, pending.job_id)
            if job is not None and not job.finished:
                job = await self._jobs.update(job, status=SUCCEEDED, error=None)
                await self._events.append([succeeded_event(job, server)])
                logger.info("job %s succeeded: server %s was seen %s", job.id, server["id"], server["status"])
        return True
