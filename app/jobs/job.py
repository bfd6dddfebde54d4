"""A job: the durable record of one create, delete or action (stop, start, reboot), and the
statuses it goes through."""
from dataclasses import dataclass
from typing import Any, cast

from ..core.records import ActionRequest, LaunchRequest, Server, VolumeRequest
from ..events.server_events import JOB_SUCCEEDED, ServerEvent

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED)
TERMINAL = (SUCCEEDED, FAILED)
CREATE, DELETE, ACTION = "create", "delete", "action"
CREATE_VOLUME, DELETE_VOLUME = "create_volume", "delete_volume"
KINDS = (CREATE, DELETE, ACTION, CREATE_VOLUME, DELETE_VOLUME)


class JobFailure(Exception):
    """The job cannot succeed; the message says why, for the caller."""


@dataclass(frozen=True)
class Job:
    """A create, a delete or an action, as stored; times are UNIX seconds."""

    id: str
    project_id: str
    kind: str
    status: str
    server_id: str | None
    attempts: int
    error: str | None
    created_at: float
    updated_at: float
    request: LaunchRequest | ActionRequest | VolumeRequest | None = None  # what it was asked
    started_at: float | None = None  # its first attempt: the retry budget counts from there
    requested_by: str | None = None  # the caller that asked for it (a token's name, or a JWT's
    # subject and issuer; never a token)
    result: dict[str, str] | None = None  # what the job made: {"image_id": …} for a snapshot

    @property
    def finished(self) -> bool:
        """Whether the job has succeeded or failed for good."""
        return self.status in TERMINAL

    def launch(self) -> LaunchRequest:
        """A create job's validated request."""
        if self.kind != CREATE or self.request is None:
            raise ValueError(f"job {self.id} is no create")
        return cast(LaunchRequest, self.request)

    def volume_request(self) -> VolumeRequest:
        """A volume job's request (a delete's holds only ``volume_id``)."""
        if self.kind not in (CREATE_VOLUME, DELETE_VOLUME) or self.request is None:
            raise ValueError(f"job {self.id} is no volume job")
        return cast(VolumeRequest, self.request)

    def action(self) -> ActionRequest:
        """An action job's request."""
        if self.kind != ACTION or self.request is None:
            raise ValueError(f"job {self.id} is no action")
        return cast(ActionRequest, self.request)

    def event_data(self) -> dict[str, Any]:
        """What a job event tells of the job (never its request)."""
        return {"id": self.id, "kind": self.kind, "status": self.status,
                "server_id": self.server_id, "attempts": self.attempts, "error": self.error,
                "result": self.result, "requested_by": self.requested_by}


def succeeded_event(job: Job, server: Server | None) -> ServerEvent:
    """The ``job.succeeded`` event of a job, with the server as it ended (if it is left); the
    same id whoever announces it (its runner, or an observation that finished it)."""
    data: dict[str, Any] = {"job": job.event_data()}
    if server is not None:
        data["server"] = server
    return ServerEvent(job.project_id, JOB_SUCCEEDED, job.server_id or "", job.id, data)
