"""Every Redis key the service uses: its type, its hash tag and its lifetime.

Per-project keys carry the project id as a hash tag, ``{<project_id>}``, so all keys of a
project live in one Redis Cluster slot and multi-key scripts on them stay legal there. The
poll schedule is shared by all projects and tagged ``{schedule}``.

| key | type | holds | TTL |
|---|---|---|---|
| ``cs:{p}:servers`` | hash | server id -> server JSON (the API's shape) | none |
| ``cs:{p}:servers:order`` | sorted set | server id, scored by creation time | none |
| ``cs:{p}:list:<kind>`` | hash | ``body`` (encoded JSON array), ``etag``, ``taken_at``, ``stale`` | none |
| ``cs:{p}:poll`` | hash | ``watermark``, ``cycle``, ``failures``, ``last_error``, ``resources_due`` | none |
| ``cs:{p}:events`` | stream | observed changes: ``id``, ``type``, ``data`` (JSON) | capped by length |
| ``cs:{p}:events:ids`` | sorted set | the latest events' ids, by time (drops repeats) | capped |
| ``cs:{p}:job:<id>`` | hash | a job: kind, status, server id, attempts, error, request, times | retention |
| ``cs:{p}:jobs`` | stream + group ``runners`` | the project's queued job ids | trimmed as acked |
| ``cs:{p}:idem:<sha256>`` | hash | an ``Idempotency-Key``: body fingerprint, job id, first answer | 24 h |
| ``cs:{p}:deleting:<server>`` | string | the delete job of a server being deleted | retention |
| ``cs:{jobs}:ready`` | sorted set | projects that may have queued jobs (a hint; workers also sweep) | none |
| ``cs:{schedule}:due`` | sorted set | project id, scored by when it is next due (or its lease ends) | none |
| ``cs:{schedule}:owner`` | hash | project id -> the claim token of the worker polling it | none |

``<kind>`` is ``servers``, ``flavors``, ``images``, ``networks`` or ``keypairs``.
"""
PREFIX = "cs"
RESOURCE_KINDS = ("flavors", "images", "networks", "keypairs")
LIST_KINDS = ("servers", *RESOURCE_KINDS)
EVENTS_MAX_LENGTH = 10_000

SCHEDULE_DUE = f"{PREFIX}:{{schedule}}:due"
SCHEDULE_OWNER = f"{PREFIX}:{{schedule}}:owner"
JOBS_READY = f"{PREFIX}:{{jobs}}:ready"
JOB_GROUP = "runners"
IDEMPOTENCY_TTL = 24 * 3600


def _project_key(project_id: str, suffix: str) -> str:
    return f"{PREFIX}:{{{project_id}}}:{suffix}"


def servers(project_id: str) -> str:
    """Hash: server id -> server JSON."""
    return _project_key(project_id, "servers")


def server_order(project_id: str) -> str:
    """Sorted set: server ids by creation time (the list's order)."""
    return _project_key(project_id, "servers:order")


def listing(project_id: str, kind: str) -> str:
    """Hash: the encoded list of one kind with its ETag, time taken and staleness."""
    if kind not in LIST_KINDS:
        raise ValueError(f"unknown list kind {kind!r}")
    return _project_key(project_id, f"list:{kind}")


def poll_state(project_id: str) -> str:
    """Hash: the poller's progress for the project."""
    return _project_key(project_id, "poll")


def events(project_id: str) -> str:
    """Stream: the project's observed changes."""
    return _project_key(project_id, "events")


def event_ids(project_id: str) -> str:
    """Sorted set: the ids of the project's latest events, so a repeated observation is dropped."""
    return _project_key(project_id, "events:ids")


def job(project_id: str, job_id: str) -> str:
    """Hash: one job's record."""
    return _project_key(project_id, f"job:{job_id}")


def job_queue(project_id: str) -> str:
    """Stream: the project's queued job ids, read by the ``runners`` group."""
    return _project_key(project_id, "jobs")


def idempotency(project_id: str, key_digest: str) -> str:
    """Hash: what an Idempotency-Key was first used for."""
    return _project_key(project_id, f"idem:{key_digest}")


def deleting(project_id: str, server_id: str) -> str:
    """String: the id of the job deleting a server."""
    return _project_key(project_id, f"deleting:{server_id}")
