"""Configuration of the API and the workers, declared once: each setting's variable, default,
bounds and meaning belong to its field; ``from_env`` reads them, and the table in
docs/configuration.md is generated from them (``make docs``)."""
import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..store.redis_address import check_redis_url
from ..store.redis_layout import EVENTS_KEPT, IDEMPOTENCY_TTL

PREFIX = "CLOUD_SERVERS_"  # every setting may carry it; with both set, the prefixed one wins
DAY = 24 * 3600.0


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and why."""


def setting(default: Any, doc: str, read: str = "seconds", *, env: str | None = None,
            repr: bool = True, **limits: Any) -> Any:
    """A setting's field: its default, its meaning, how it is read (a ``_Reader`` method), the
    variable that sets it when that is not the field's name in capitals, and its bounds."""
    return field(default=default, repr=repr,
                 metadata={"doc": doc, "read": read, "env": env, "limits": limits})


def required(doc: str, read: str, *, env: str | None = None, repr: bool = True) -> Any:
    """A setting without a default: the process does not start without it."""
    return setting(MISSING, doc, read, env=env, repr=repr)


@dataclass(frozen=True)
class Settings:
    """Every tunable of the service; durations in seconds."""

    redis_url: str = required(
        "`redis://`, `rediss://` or `unix://` URL; `redis+cluster://` (or `rediss+cluster://`) for a "
        "Redis Cluster; `redis+sentinel://[:password@]host:port[,host:port…]/<master>[/db]` (or "
        "`rediss+sentinel://`) for a master behind Sentinel", "required_text", repr=False)
    clouds_file: Path = required("the `clouds.yaml` with each project's credentials",
                                 "required_path", env="OS_CLIENT_CONFIG_FILE")
    redis_replica_wait_ms: int = setting(
        1000, "milliseconds a write that a `201` or `202` promises waits for a replica's "
        "acknowledgement (`WAIT 1`) while the master has one; `503` after; 0: no wait", "integer",
        minimum=0, maximum=60_000)
    tokens_file: Path | None = setting(
        None, "the static bearer tokens file; the API needs it or `ACCESS_FILE` (docs/security.md)",
        "path", env="API_TOKENS_FILE")
    access_file: Path | None = setting(
        None, "the trusted JWT issuers and their grants, re-read within 5 s of a change "
        "(docs/security.md)", "path")
    oidc_allow_http: bool = setting(
        False, "allow `http://` issuers and JWKS in `ACCESS_FILE` (development, tests)", "flag")
    listen_host: str = setting("127.0.0.1", "where the API (and the workers' metrics) listen", "text")
    port: int = setting(8080, "the API's port", "integer", minimum=0, maximum=65535)
    web_concurrency: int = setting(
        1, "API processes sharing `PORT` (`SO_REUSEPORT`); above 1 needs a fixed `PORT`", "integer",
        minimum=1, maximum=64)
    poll_interval: float = setting(30.0, "seconds between polls of a project")
    cloud_reader: str = setting(
        "", "the `clouds.yaml` entry of an admin credential that reads every project's servers at "
        "once (`all_tenants`), per region and `POLL_INTERVAL`; never used for writes; empty: each "
        "project is polled on its own (docs/openstack.md)", "text")
    full_resync_every: int = setting(
        10, "every Nth poll lists all servers instead of `changes-since` (offset per project, so "
        "projects do not resync in lockstep)", "integer", minimum=1)
    volume_poll_every: int = setting(
        4, "every Nth poll of a project (and every full resync) also asks Cinder for the volumes "
        "changed behind the service's back; the service's own volume changes are written through "
        "at once (offset per project, as resyncs are)", "integer", minimum=1)
    resources_interval: float = setting(
        300.0, "seconds between re-listings of flavors, images, networks, keypairs")
    snapshot_max_age: float = setting(
        300.0, "a list older than this is refreshed live before answering")
    show_freshness: float = setting(
        1.0, "seconds a live read of a server answers every show of it, across the API replicas")
    poll_lease: float = setting(
        60.0, "seconds a worker holds a project while polling it (must exceed `OPENSTACK_TIMEOUT`)")
    poll_backoff_max: float = setting(
        120.0, "longest wait before retrying a failing project (a successful live show or job step "
        "for it ends the wait at once)")
    changes_since_overlap: float = setting(
        2.0, "seconds each `changes-since` window reaches back", allow_zero=True)
    openstack_timeout: float = setting(30.0, "seconds for one OpenStack call")
    openstack_threads: int = setting(
        8, "threads for openstacksdk calls, and connections kept per OpenStack endpoint; a worker "
        "claims this many projects at a time and polls up to twice as many at once", "integer",
        minimum=1, maximum=256)
    shutdown_timeout: float = setting(10.0, "seconds running work may finish after SIGTERM")
    body_timeout: float = setting(10.0, "seconds a request body may take to arrive (`408` after)")
    body_reads_max: int = setting(
        64, "request bodies being received at once per process (`503` beyond)", "integer",
        minimum=1, maximum=100_000)
    keepalive_timeout: float = setting(
        75.0, "seconds an idle keep-alive connection stays open (longer than a typical ingress's "
        "60 s upstream keep-alive, so the ingress closes first)")
    writes_per_minute: int = setting(
        60, "creates, deletes and actions per token per minute (bursts of as many)", "integer",
        minimum=1, maximum=1_000_000)
    live_reads_per_minute: int = setting(
        300, "`GET /cloud/servers/{id}` per token per minute", "integer", minimum=1,
        maximum=1_000_000)
    create_wait: float = setting(
        5.0, "seconds `POST /cloud/servers` waits for Nova's server id", allow_zero=True)
    job_max_attempts: int = setting(
        100, "attempts before a job fails, whatever its budget", "integer", minimum=1, maximum=10_000)
    job_retry_budget: float = setting(
        900.0, "seconds from a job's first attempt during which transient failures are retried")
    job_retention: float = setting(
        7 * DAY, "seconds job records are kept (7 days; at least 86400, for Idempotency-Key replays)")
    job_visibility_timeout: float = setting(
        60.0, "seconds before a dead worker's job is taken over (must exceed `OPENSTACK_TIMEOUT`)")
    job_concurrency: int = setting(16, "jobs run at once per worker", "integer", minimum=1,
                                   maximum=1000)
    job_backoff_max: float = setting(60.0, "longest wait between a job's attempts")
    build_timeout: float = setting(
        1800.0, "how long a create follows a build (and a delete waits for Nova)")
    build_poll_interval: float = setting(3.0, "seconds between looks at a build or a delete")
    webhook_keys_file: Path | None = setting(
        None, "Fernet keys, one a line, that encrypt webhook secrets in Redis; without it webhooks "
        "answer `503` (docs/webhooks.md)", "path")
    webhook_allow_http: bool = setting(False, "allow `http://` webhook URLs (development)", "flag")
    webhook_allowed_networks: tuple[str, ...] = setting(
        (), "comma-separated addresses or CIDR ranges deliveries may reach although they are "
        "loopback, private, link-local or unique-local (`make run`: `127.0.0.1/32`)", "networks")
    # Standard Webhooks' schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h.
    webhook_retry_schedule: tuple[float, ...] = setting(
        (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0),
        "seconds before each delivery attempt, comma-separated; as many attempts as entries",
        "schedule")
    webhook_timeout: float = setting(10.0, "seconds for one delivery attempt, connect to answer")
    webhook_disable_after: float = setting(
        5 * DAY, "a subscription whose every attempt failed for this long (5 days) is disabled")
    webhooks_per_project: int = setting(25, "subscriptions a project may have", "integer",
                                        minimum=1, maximum=1000)
    webhook_concurrency: int = setting(64, "deliveries under way at once per worker", "integer",
                                       minimum=1, maximum=10_000)
    webhook_endpoint_concurrency: int = setting(
        4, "deliveries under way at once per subscription", "integer", minimum=1, maximum=100)
    events_kept: int = setting(
        EVENTS_KEPT, "events each project's stream keeps, beyond those its webhooks have not taken yet; "
        "`GET /cloud/events` resumes within them, and an event id repeated among them is dropped",
        "integer", minimum=10, maximum=1_000_000)
    events_heartbeat: float = setting(15.0, "seconds between `: ping` comments on `GET /cloud/events`")
    worker_metrics_port: int = setting(
        9101, "where the workers serve `/metrics` (on `LISTEN_HOST`; `0`: a free port, logged)",
        "integer", minimum=0, maximum=65535)
    log_level: str = setting("INFO", "`DEBUG`, `INFO`, `WARNING` or `ERROR`", "choice",
                             choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    # CLOUD_SERVERS_* variables that name no setting (a typo, most likely): warned about at start
    unknown_variables: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        """Read and validate the settings; raises ``SettingsError`` naming the bad variable."""
        reader = _Reader(environ)
        values = {entry.name: getattr(reader, entry.metadata["read"])(
                      variable(entry), entry.default, **entry.metadata["limits"])
                  for entry in declared()}
        settings = cls(**values, unknown_variables=reader.unknown_prefixed())
        problems = settings.conflicts()
        if problems:
            raise SettingsError(problems[0])
        return settings

    def conflicts(self) -> list[str]:
        """Settings each valid alone that do not work together."""
        problems = []
        redis_problem = check_redis_url(self.redis_url)
        if redis_problem:
            problems.append(redis_problem)
        if self.web_concurrency > 1 and self.port == 0:
            problems.append("WEB_CONCURRENCY above 1 needs a fixed PORT: the processes share it")
        if self.poll_lease <= self.openstack_timeout:
            problems.append("POLL_LEASE must be longer than OPENSTACK_TIMEOUT, or a slow poll "
                            "would outlive its lease and another worker would poll too")
        if self.job_retention < IDEMPOTENCY_TTL:
            problems.append("JOB_RETENTION must be at least 86400 (24 h): an Idempotency-Key "
                            "replay within 24 h needs the first request's job")
        if not self.webhook_retry_schedule:
            problems.append("WEBHOOK_RETRY_SCHEDULE needs at least one attempt")
        if self.job_visibility_timeout <= self.openstack_timeout:
            problems.append("JOB_VISIBILITY_TIMEOUT must be longer than OPENSTACK_TIMEOUT")
        return problems


def declared() -> list[Field[Any]]:
    """The settings read from the environment, in declaration order."""
    return [entry for entry in fields(Settings) if "read" in entry.metadata]


def variable(entry: Field[Any]) -> str:
    """The environment variable that sets a declared setting."""
    return str(entry.metadata["env"] or entry.name.upper())


def default_text(entry: Field[Any]) -> str:
    """A setting's default as an operator writes it (``required`` for none)."""
    value = entry.default
    if value is MISSING:
        return "required"
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(f"{part:g}" for part in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def configuration_table() -> str:
    """The Markdown table of every setting: variable, default, meaning."""
    rows = [f"| `{variable(entry)}` | `{default_text(entry)}` | {entry.metadata['doc']} |"
            for entry in declared()]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows])


class _Reader:
    """Typed access to an environment mapping, with operator-friendly errors."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._asked: set[str] = set()

    def unknown_prefixed(self) -> tuple[str, ...]:
        """The ``CLOUD_SERVERS_*`` variables set that no setting reads."""
        return tuple(sorted(name for name in self._environ
                            if name.startswith(PREFIX) and name[len(PREFIX):] not in self._asked))

    def _raw(self, name: str) -> str:
        self._asked.add(name)
        return (self._environ.get(PREFIX + name) or self._environ.get(name, "")).strip()

    def text(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def required_text(self, name: str, default: object = MISSING) -> str:
        value = self._raw(name)
        if not value:
            raise SettingsError(f"{name} is required")
        return value

    def path(self, name: str, default: None = None) -> Path | None:
        value = self._raw(name)
        if not value:
            return None
        path = Path(value)
        if not path.is_file():
            raise SettingsError(f"{name}={value}: no such file")
        return path

    def required_path(self, name: str, default: object = MISSING) -> Path:
        path = self.path(name)
        if path is None:
            raise SettingsError(f"{name} is required")
        return path

    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        raw = self._raw(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise SettingsError(f"{name}={value} is out of range [{minimum}, {maximum}]")
        return value

    def seconds(self, name: str, default: float, *, allow_zero: bool = False) -> float:
        raw = self._raw(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
        if not math.isfinite(value):
            raise SettingsError(f"{name}={raw!r} is not a finite number of seconds")
        if value < 0 or (value == 0 and not allow_zero):
            raise SettingsError(f"{name}={raw} must be a positive number of seconds")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = (self._raw(name) or str(default)).lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise SettingsError(f"{name}={value!r} must be true or false")
        return value in ("true", "1", "yes")

    def networks(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        parts = [part.strip() for part in self._raw(name).split(",") if part.strip()]
        try:
            return tuple(str(ipaddress.ip_network(part, strict=False)) for part in parts) or default
        except ValueError as error:
            raise SettingsError(f"{name}: {error}; give addresses or CIDR ranges, comma-separated") from None

    def schedule(self, name: str, default: tuple[float, ...]) -> tuple[float, ...]:
        raw = self._raw(name)
        if not raw:
            return default
        try:
            delays = tuple(float(part) for part in raw.split(","))
        except ValueError:
            raise SettingsError(f"{name}={raw!r} must be seconds, comma-separated") from None
        if any(delay < 0 or not math.isfinite(delay) for delay in delays):
            raise SettingsError(f"{name}={raw!r}: delays must be finite and not negative")
        return delays

    def choice(self, name: str, default: str, *, choices: tuple[str, ...]) -> str:
        value = (self._raw(name) or default).upper()
        if value not in choices:
            raise SettingsError(f"{name}={value!r} must be one of {', '.join(choices)}")
        return value
