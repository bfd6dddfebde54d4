"""Every Redis key the service uses: its type, its hash tag, its fields and its lifetime.

Per-project keys carry the project id as a hash tag, ``{<project_id>}``, so all keys of a
project live in one Redis Cluster slot and multi-key scripts on them stay legal there. The
poll schedule is spread over ``SCHEDULE_BUCKETS`` buckets, each its own hash tag
``{schedule:<bucket>}`` (a project's bucket: CRC-32 of its id), so that scheduling is shared by
every shard of a cluster; the job hint is tagged ``{jobs}``.

| key | type | holds (fields: the classes below) | TTL |
|---|---|---|---|
| ``cs:{p}:servers`` | hash | server id -> server JSON (``app.records.Server``) | none |
| ``cs:{p}:servers:order`` | zset | server id, scored by creation time | none |
| ``cs:{p}:list:<kind>`` | hash | an encoded JSON array with its ETag (``ListingField``) | none |
| ``cs:{p}:poll`` | hash | the poller's progress (``PollField``) | none |
| ``cs:{p}:events`` | stream | observed changes and job outcomes (``EventField``) | capped by length |
| ``cs:{p}:events:ids`` | zset | the latest events' ids, by time (drops repeats) | capped |
| ``cs:{p}:job:<id>`` | hash | a create or delete job (``JobField``) | retention |
| ``cs:{p}:server-jobs:<server>`` | zset | a server's latest job ids, scored by creation time | retention |
| ``cs:{p}:jobs`` | stream | queued job ids (``QueueField``), consumer group ``runners`` | trimmed as acked |
| ``cs:{p}:idem:<sha256>`` | string | an ``Idempotency-Key``'s first use, JSON (``IdempotencyField``) | 24 h |
| ``cs:{p}:acting:<server>`` | string | the task state a server's queued or running action shows | retention |
| ``cs:{p}:deleting:<server>`` | string | the id of the delete job of a server being deleted | retention |
| ``cs:{p}:webhooks`` | zset | the project's webhook subscription ids, by creation time | none |
| ``cs:{p}:webhook:<id>`` | hash | a webhook subscription (``WebhookField``) | none |
| ``cs:{p}:webhook:<id>:due`` | zset | the head delivery of each lane, scored by when it is due | none |
| ``cs:{p}:webhook:<id>:lanes`` | set | the lanes (server ids) with undelivered events | none |
| ``cs:{p}:webhook:<id>:lane:<lane>`` | list | a lane's delivery ids in event order | none |
| ``cs:{p}:webhook:<id>:attempts`` | stream | the delivery log (``AttemptField``) | capped by length |
| ``cs:{p}:delivery:<id>`` | hash | an event's delivery to a subscription (``DeliveryField``) | retention |
| ``cs:{p}:webhooks:cursor`` | string | the id of the last event fanned out to the subscriptions | none |
| ``cs:{webhooks}:projects`` | set | the projects that have webhook subscriptions | none |
| ``cs:{rate:<token>}:<limit>`` | string | a token's GCRA bucket: when its next request is due | until full |
| ``cs:epoch`` | string | a random id written once: its change means Redis lost its data | none |
| ``cs:{workers}:heartbeats`` | zset | worker id, scored by the time of its latest heartbeat | none |
| ``cs:{jobs}:ready`` | zset | projects that may have queued jobs (a hint; workers also sweep) | none |
| ``cs:{schedule:<bucket>}:due`` | zset | project id, scored by when it is next due (lease end) | none |
| ``cs:{schedule:<bucket>}:owner`` | hash | project id -> the claim token of the worker polling it | none |
| ``cs:{schedule:<bucket>}:polled`` | hash | project id -> when its last successful poll ended | none |

The channel ``cs:snapshot-changes`` carries the id of each project whose lists were written.

``<kind>`` is ``servers``, ``flavors``, ``images``, ``networks`` or ``keypairs``; a job's times
are UNIX seconds, its ``request`` the validated create request as JSON.
"""
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "cs"
RESOURCE_KINDS = ("flavors", "images", "networks", "keypairs", "security_groups", "volumes")
LIST_KINDS = ("servers", *RESOURCE_KINDS)
EVENTS_MAX_LENGTH = 10_000
SERVER_JOBS_KEPT = 100  # a server's latest jobs listed by GET /cloud/jobs?server_id=
IDEMPOTENCY_TTL = 24 * 3600  # the contract's window for replaying an Idempotency-Key

SCHEDULE_BUCKETS = 16  # fixed: a project's bucket must not move while workers run
JOBS_READY = f"{PREFIX}:{{jobs}}:ready"
EPOCH = f"{PREFIX}:epoch"
WEBHOOK_PROJECTS = f"{PREFIX}:{{webhooks}}:projects"
WORKER_HEARTBEATS = f"{PREFIX}:{{workers}}:heartbeats"
SNAPSHOT_CHANGES = f"{PREFIX}:snapshot-changes"  # a pub/sub channel, not a key
ATTEMPTS_MAX_LENGTH = 1000  # the delivery log kept per subscription
JOB_GROUP = "runners"


class ListingField:
    """Fields of ``cs:{p}:list:<kind>``."""

    BODY, ETAG, TAKEN_AT, STALE = "body", "etag", "taken_at", "stale"


class PollField:
    """Fields of ``cs:{p}:poll``."""

    WATERMARK, CYCLE, FAILURES = "watermark", "cycle", "failures"
    LAST_ERROR, LAST_SUCCESS, RESOURCES_DUE = "last_error", "last_success", "resources_due"


class EventField:
    """Fields of each entry of ``cs:{p}:events``."""

    ID, TYPE, SERVER_ID, TIMESTAMP, DATA = "id", "type", "server_id", "timestamp", "data"


class JobField:
    """Fields of ``cs:{p}:job:<id>``."""

    KIND, STATUS, SERVER_ID, ATTEMPTS, ERROR = "kind", "status", "server_id", "attempts", "error"
    REQUEST, CREATED_AT, UPDATED_AT, STARTED_AT = "request", "created_at", "updated_at", "started_at"


class QueueField:
    """Fields of each entry of ``cs:{p}:jobs``."""

    JOB, KIND = "job", "kind"


class WebhookField:
    """Fields of ``cs:{p}:webhook:<id>``."""

    URL, EVENTS, DESCRIPTION, SECRETS, CREATED_AT = "url", "events", "description", "secrets", "created_at"
    DISABLED_REASON, DISABLED_AT, FAILING_SINCE, PENDING = (
        "disabled_reason", "disabled_at", "failing_since", "pending")


class DeliveryField:
    """Fields of ``cs:{p}:delivery:<id>``."""

    SUBSCRIPTION, EVENT_ID, TYPE, LANE, BODY = "subscription", "event_id", "type", "lane", "body"
    STATUS, ATTEMPTS, OBSERVED_AT, NEXT_AT = "status", "attempts", "observed_at", "next_at"


class AttemptField:
    """Fields of each entry of ``cs:{p}:webhook:<id>:attempts``."""

    DELIVERY, EVENT_ID, TYPE, AT, ATTEMPT = "delivery", "event_id", "type", "at", "attempt"
    STATUS_CODE, ERROR, DURATION_MS = "status_code", "error", "duration_ms"


class IdempotencyField:
    """Keys of the JSON value of ``cs:{p}:idem:<sha256>``."""

    FINGERPRINT, JOB_ID, OUTCOME = "fingerprint", "job_id", "outcome"


@dataclass(frozen=True)
class KeySpec:
    """One row of the layout: a key pattern, its Redis type, its fixed fields, whether it expires."""

    pattern: str
    type: str
    fields: tuple[str, ...] | None  # None: the fields are data (server ids, project ids)
    expires: bool


def _fields(names: type) -> tuple[str, ...]:
    return tuple(value for name, value in vars(names).items() if name.isupper())


LAYOUT = (
    KeySpec("cs:{p}:servers", "hash", None, False),
    KeySpec("cs:{p}:servers:order", "zset", None, False),
    KeySpec("cs:{p}:list:<kind>", "hash", _fields(ListingField), False),
    KeySpec("cs:{p}:poll", "hash", _fields(PollField), False),
    KeySpec("cs:{p}:events", "stream", _fields(EventField), False),
    KeySpec("cs:{p}:events:ids", "zset", None, False),
    KeySpec("cs:{p}:job:<id>", "hash", _fields(JobField), True),
    KeySpec("cs:{p}:server-jobs:<server>", "zset", None, True),
    KeySpec("cs:{p}:jobs", "stream", _fields(QueueField), False),
    KeySpec("cs:{p}:idem:<sha256>", "string", _fields(IdempotencyField), True),
    KeySpec("cs:{p}:acting:<server>", "string", None, True),
    KeySpec("cs:{p}:deleting:<server>", "string", None, True),
    KeySpec("cs:{p}:webhooks", "zset", None, False),
    KeySpec("cs:{p}:webhook:<id>", "hash", _fields(WebhookField), False),
    KeySpec("cs:{p}:webhook:<id>:due", "zset", None, False),
    KeySpec("cs:{p}:webhook:<id>:lanes", "set", None, False),
    KeySpec("cs:{p}:webhook:<id>:lane:<lane>", "list", None, False),
    KeySpec("cs:{p}:webhook:<id>:attempts", "stream", _fields(AttemptField), False),
    KeySpec("cs:{p}:delivery:<id>", "hash", _fields(DeliveryField), True),
    KeySpec("cs:{p}:webhooks:cursor", "string", None, False),
    KeySpec("cs:{webhooks}:projects", "set", None, False),
    KeySpec("cs:{rate:<token>}:<limit>", "string", None, True),
    KeySpec("cs:epoch", "string", None, False),
    KeySpec("cs:{workers}:heartbeats", "zset", None, False),
    KeySpec("cs:{jobs}:ready", "zset", None, False),
    KeySpec("cs:{schedule:<bucket>}:due", "zset", None, False),
    KeySpec("cs:{schedule:<bucket>}:owner", "hash", None, False),
    KeySpec("cs:{schedule:<bucket>}:polled", "hash", None, False),
)


def text(value: object) -> str:
    """A value Redis gave back, as text (the client answers bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def text_fields(stored: Mapping[Any, Any] | None) -> dict[str, str]:
    """A hash (or stream entry) Redis gave back, as text."""
    return {text(name): text(value) for name, value in (stored or {}).items()}


def rate_limit(token_digest: str, limit: str) -> str:
    """String: a token's GCRA bucket for one limit (``writes``, ``live reads``)."""
    return f"{PREFIX}:{{rate:{token_digest}}}:{limit.replace(' ', '-')}"


def schedule_bucket(project_id: str) -> int:
    """The schedule bucket a project is kept in."""
    return zlib.crc32(project_id.encode()) % SCHEDULE_BUCKETS


def schedule_due(bucket: int) -> str:
    """Sorted set: one bucket's projects by when each is next due (or its lease ends)."""
    return f"{PREFIX}:{{schedule:{bucket}}}:due"


def schedule_owner(bucket: int) -> str:
    """Hash: one bucket's projects being polled -> the claim token of the worker polling each."""
    return f"{PREFIX}:{{schedule:{bucket}}}:owner"


def schedule_polled(bucket: int) -> str:
    """Hash: one bucket's projects -> when each one's last successful poll ended."""
    return f"{PREFIX}:{{schedule:{bucket}}}:polled"


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


def server_jobs(project_id: str, server_id: str) -> str:
    """Sorted set: the ids of a server's latest jobs, by creation time."""
    return _project_key(project_id, f"server-jobs:{server_id}")


def job_queue(project_id: str) -> str:
    """Stream: the project's queued job ids, read by the ``runners`` group."""
    return _project_key(project_id, "jobs")


def idempotency(project_id: str, key_digest: str) -> str:
    """String: what an Idempotency-Key was first used for (JSON)."""
    return _project_key(project_id, f"idem:{key_digest}")


def acting(project_id: str, server_id: str) -> str:
    """String: the task state of the action a server has under way."""
    return _project_key(project_id, f"acting:{server_id}")


def deleting(project_id: str, server_id: str) -> str:
    """String: the id of the job deleting a server."""
    return _project_key(project_id, f"deleting:{server_id}")


def webhooks(project_id: str) -> str:
    """Sorted set: the project's webhook subscription ids, by creation time."""
    return _project_key(project_id, "webhooks")


def webhook(project_id: str, subscription_id: str) -> str:
    """Hash: one webhook subscription."""
    return _project_key(project_id, f"webhook:{subscription_id}")


def webhook_due(project_id: str, subscription_id: str) -> str:
    """Sorted set: each lane's head delivery, scored by when it is next due (or its lease ends)."""
    return _project_key(project_id, f"webhook:{subscription_id}:due")


def webhook_lanes(project_id: str, subscription_id: str) -> str:
    """Set: the lanes of a subscription that hold undelivered events."""
    return _project_key(project_id, f"webhook:{subscription_id}:lanes")


def webhook_lane(project_id: str, subscription_id: str, lane: str) -> str:
    """List: one lane's delivery ids (one server's events), in the order of the events."""
    return _project_key(project_id, f"webhook:{subscription_id}:lane:{lane}")


def webhook_attempts(project_id: str, subscription_id: str) -> str:
    """Stream: a subscription's delivery attempts (its delivery log)."""
    return _project_key(project_id, f"webhook:{subscription_id}:attempts")


def delivery(project_id: str, delivery_id: str) -> str:
    """Hash: one event's delivery to one subscription."""
    return _project_key(project_id, f"delivery:{delivery_id}")


def webhook_cursor(project_id: str) -> str:
    """String: the id of the last event of the project's stream fanned out to subscriptions."""
    return _project_key(project_id, "webhooks:cursor")
