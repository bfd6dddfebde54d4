"""Every Redis key the service uses, each declared once: its pattern, type, fields and lifetime.
The declaration builds the key (``layout.job(project_id, job_id)``) and the table in
docs/internals.md (``make docs``).

Per-project keys carry the project id as a hash tag, ``{<project_id>}``, so all keys of a
project live in one Redis Cluster slot and multi-key scripts on them stay legal there. The
poll schedule is spread over ``SCHEDULE_BUCKETS`` buckets, each its own hash tag
``{schedule:<bucket>}`` (a project's bucket: CRC-32 of its id), so that scheduling is shared by
every shard of a cluster; the job hint is tagged ``{jobs}``.
"""
import re
import zlib
from dataclasses import dataclass
from functools import cached_property

PREFIX = "cs"
RESOURCE_KINDS = ("flavors", "images", "networks", "keypairs", "security_groups", "volumes")
LIST_KINDS = ("servers", *RESOURCE_KINDS)
EVENTS_KEPT = 10_000  # the default of each project's event stream's length (EVENTS_KEPT)
SERVER_JOBS_KEPT = 100  # a server's latest jobs listed by GET /cloud/jobs?server_id=
IDEMPOTENCY_TTL = 24 * 3600  # the contract's window for replaying an Idempotency-Key
SCHEDULE_BUCKETS = 16  # fixed: a project's bucket must not move while workers run
ATTEMPTS_MAX_LENGTH = 1000  # the delivery log kept per subscription
JOB_GROUP = "runners"
SNAPSHOT_CHANGES = f"{PREFIX}:snapshot-changes"  # a pub/sub channel, not a key
# The lifetimes of keys that expire; the others are kept, capped or trimmed.
EXPIRING = ("retention", "24 h", "until full", "`SHOW_FRESHNESS`", "`POLL_LEASE`")


class ListingField:
    """Fields of ``cs:{p}:list:<kind>``."""

    BODY, ETAG, TAKEN_AT, STALE = "body", "etag", "taken_at", "stale"


class PollField:
    """Fields of ``cs:{p}:poll``."""

    WATERMARK, CYCLE, FAILURES = "watermark", "cycle", "failures"
    LAST_ERROR, LAST_SUCCESS, RESOURCES_DUE = "last_error", "last_success", "resources_due"
    VOLUMES_WATERMARK = "volumes_watermark"  # when the last look at changed volumes began


class CloudPollField:
    """Fields of ``cs:{cloud}:poll:<region>``."""

    WATERMARK, CYCLE, TAKEN_AT, NEXT_DUE = "watermark", "cycle", "taken_at", "next_due"
    FAILURES, LAST_ERROR = "failures", "last_error"


class EventField:
    """Fields of each entry of ``cs:{p}:events``."""

    ID, TYPE, SERVER_ID, TIMESTAMP, DATA = "id", "type", "server_id", "timestamp", "data"


class JobField:
    """Fields of ``cs:{p}:job:<id>``."""

    KIND, STATUS, SERVER_ID, ATTEMPTS, ERROR = "kind", "status", "server_id", "attempts", "error"
    REQUEST, CREATED_AT, UPDATED_AT, STARTED_AT = "request", "created_at", "updated_at", "started_at"
    REQUESTED_BY, RESULT = "requested_by", "result"


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
class Key:
    """One key of the layout; called with its parts (the project id first), it is the key.

    ``{p}`` in the pattern is the project's hash tag, ``<name>`` any other part."""

    pattern: str
    redis_type: str
    holds: str
    lifetime: str  # none, capped, retention, 24 h…: the TTL column of the table
    fields: type | None = None  # the class naming its fields; None: its fields are data

    @property
    def expires(self) -> bool:
        """Whether the key has a TTL."""
        return self.lifetime in EXPIRING

    @property
    def field_names(self) -> tuple[str, ...] | None:
        """The fields (or JSON keys) the key may hold, when they are fixed."""
        if self.fields is None:
            return None
        return tuple(value for name, value in vars(self.fields).items() if name.isupper())

    @cached_property
    def _template(self) -> tuple[str, int]:
        """The pattern as a format string (``{p}`` is ``{{{}}}``, ``<name>`` is ``{}``), and its
        number of parts."""
        escaped = self.pattern.replace("{", "{{").replace("}", "}}")
        return re.subn(r"\{\{p\}\}|<[a-z0-9]+>",
                       lambda hole: "{{{}}}" if hole.group() == "{{p}}" else "{}", escaped)

    def __call__(self, *parts: object) -> str:
        """The key for these parts, in the pattern's order."""
        template, holes = self._template
        if len(parts) != holes:
            raise TypeError(f"{self.pattern} takes {holes} parts, not {len(parts)}")
        return template.format(*parts)


def _per_project(suffix: str, redis_type: str, holds: str, lifetime: str,
                 fields: type | None = None) -> Key:
    return Key(f"{PREFIX}:{{p}}:{suffix}", redis_type, holds, lifetime, fields)


servers = _per_project("servers", "hash", "server id -> server JSON (`app.core.records.Server`)", "none")
server_order = _per_project("servers:order", "zset", "server id, scored by creation time", "none")
server_tags = _per_project("servers:tags", "hash", "server id -> the Idempotency-Key tag Nova's metadata "
                           "holds for it (answers leave the service's keys out)", "none")
_listing = _per_project("list:<kind>", "hash", "an encoded JSON array with its ETag", "none", ListingField)
poll_state = _per_project("poll", "hash", "the poller's progress", "none", PollField)
events = _per_project("events", "stream", "observed changes and job outcomes; beyond its cap, those the "
                      "webhooks' fan-out has not taken", "capped by length",
                      EventField)
event_ids = _per_project("events:ids", "zset", "the latest events' ids, by time (drops repeats)", "capped")
job = _per_project("job:<id>", "hash", "a job: a create, a delete or an action", "retention", JobField)
server_jobs = _per_project("server-jobs:<server>", "zset",
                           "a server's latest job ids, scored by creation time", "retention")
job_queue = _per_project("jobs", "stream", f"queued job ids, consumer group `{JOB_GROUP}`",
                         "trimmed as acked", QueueField)
idempotency = _per_project("idem:<sha256>", "string", "an `Idempotency-Key`'s first use, JSON", "24 h",
                           IdempotencyField)
acting = _per_project("acting:<server>", "string",
                      "`<task state> <job id>`: the task state a server's queued or running action "
                      "shows, and its job", "retention")
deleting = _per_project("deleting:<server>", "string",
                        "the id of the delete job of a server being deleted", "retention")
recent_show = _per_project("show:<server>", "string", "a server's latest live read and its time, or the "
                           "time of the service's latest write of it, JSON (shared by the API replicas)",
                           "`SHOW_FRESHNESS`")
webhooks = _per_project("webhooks", "zset", "the project's webhook subscription ids, by creation time",
                        "none")
webhook = _per_project("webhook:<id>", "hash", "a webhook subscription", "none", WebhookField)
webhook_due = _per_project("webhook:<id>:due", "zset",
                           "the head delivery of each lane, scored by when it is due", "none")
webhook_lanes = _per_project("webhook:<id>:lanes", "set", "the lanes (server ids) with undelivered events",
                             "none")
webhook_lane = _per_project("webhook:<id>:lane:<lane>", "list", "a lane's delivery ids in event order",
                            "none")
webhook_attempts = _per_project("webhook:<id>:attempts", "stream", "the delivery log", "capped by length",
                                AttemptField)
delivery = _per_project("delivery:<id>", "hash", "an event's delivery to a subscription", "retention",
                        DeliveryField)
webhook_cursor = _per_project("webhooks:cursor", "string",
                              "the id of the last event fanned out to the subscriptions", "none")
webhook_projects = Key(f"{PREFIX}:{{webhooks}}:projects", "set", "the projects that have webhook "
                       "subscriptions", "none")
webhooks_due = Key(f"{PREFIX}:{{webhooks}}:due", "zset", "`<project>/<subscription>`, scored by when "
                   "its first lane is due (a hint the senders claim by; a sweep repairs it)", "none")
webhooks_fan_out = Key(f"{PREFIX}:{{webhooks}}:fan-out", "zset", "projects with events appended since their "
                       "last fan-out, scored by the latest append (a hint; a sweep repairs it)", "none")
_rate_limit = Key(f"{PREFIX}:{{rate:<token>}}:<limit>", "string",
                  "a token's GCRA bucket: when its next request is due", "until full")
epoch = Key(f"{PREFIX}:epoch", "string", "a random id written once: its change means Redis lost its data",
            "none")
worker_heartbeats = Key(f"{PREFIX}:{{workers}}:heartbeats", "zset",
                        "worker id, scored by the time of its latest heartbeat", "none")
jobs_ready = Key(f"{PREFIX}:{{jobs}}:ready", "zset",
                 "projects that may have queued jobs (a hint; workers also sweep)", "none")
schedule_due = Key(f"{PREFIX}:{{schedule:<bucket>}}:due", "zset",
                   "project id, scored by when it is next due (lease end)", "none")
schedule_owner = Key(f"{PREFIX}:{{schedule:<bucket>}}:owner", "hash",
                     "project id -> the claim token of the worker polling it", "none")
schedule_holder = Key(f"{PREFIX}:{{schedule:<bucket>}}:holder", "string",
                      "the worker that polls the bucket's projects by preference", "`POLL_LEASE`")
schedule_polled = Key(f"{PREFIX}:{{schedule:<bucket>}}:polled", "hash",
                      "project id -> when its last successful poll ended", "none")
_cloud_poll = Key(f"{PREFIX}:{{cloud}}:poll:<region>", "hash",
                  "the cloud-wide poll's progress in a region (`-`: the cloud's only one)", "none",
                  CloudPollField)
_cloud_poller = Key(f"{PREFIX}:{{cloud}}:poller:<region>", "string",
                    "the worker running a region's cloud-wide poll", "`POLL_LEASE`")

# Every key declared above, in the order of declaration (the table's).
LAYOUT = tuple(value for value in dict(globals()).values() if isinstance(value, Key))
EPOCH, JOBS_READY = epoch(), jobs_ready()
WEBHOOK_PROJECTS, WORKER_HEARTBEATS = webhook_projects(), worker_heartbeats()
WEBHOOKS_DUE, WEBHOOKS_FAN_OUT = webhooks_due(), webhooks_fan_out()


def listing(project_id: str, kind: str) -> str:
    """Hash: the encoded list of one kind with its ETag, time taken and staleness."""
    if kind not in LIST_KINDS:
        raise ValueError(f"unknown list kind {kind!r}")
    return _listing(project_id, kind)


def rate_limit(token_digest: str, limit: str) -> str:
    """String: a token's GCRA bucket for one limit (``writes``, ``live reads``)."""
    return _rate_limit(token_digest, limit.replace(" ", "-"))


def cloud_poll(region: str) -> str:
    """Hash: the cloud-wide poll's progress in a region ("" is the cloud's only one)."""
    return _cloud_poll(region or "-")


def cloud_poller(region: str) -> str:
    """String: the claim of the worker running a region's cloud-wide poll."""
    return _cloud_poller(region or "-")


def schedule_bucket(project_id: str) -> int:
    """The schedule bucket a project is kept in."""
    return zlib.crc32(project_id.encode()) % SCHEDULE_BUCKETS


def layout_table() -> str:
    """The layout as a Markdown table (docs/internals.md)."""
    rows = ["| key | type | holds | TTL |", "|---|---|---|---|"]
    for key in LAYOUT:
        fields = f" (fields: `{key.fields.__name__}`)" if key.fields else ""
        rows.append(f"| `{key.pattern}` | {key.redis_type} | {key.holds}{fields} | {key.lifetime} |")
    return "\n".join(rows)
