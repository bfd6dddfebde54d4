"""Configuration of the API and the workers, read once from environment variables."""
import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..store.redis_layout import IDEMPOTENCY_TTL
from ..webhooks.secret_box import SecretBox, SecretKeysError

# Standard Webhooks' schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h.
CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")  # REDIS_URL of a Redis Cluster
WEBHOOK_RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """Every tunable of the service; durations in seconds."""

    redis_url: str = field(repr=False)
    clouds_file: Path
    tokens_file: Path | None = None
    listen_host: str = "127.0.0.1"
    port: int = 8080
    web_concurrency: int = 1  # API processes sharing the port (SO_REUSEPORT)
    poll_interval: float = 30.0
    full_resync_every: int = 10
    resources_interval: float = 300.0
    snapshot_max_age: float = 300.0
    poll_lease: float = 60.0
    poll_backoff_max: float = 120.0
    changes_since_overlap: float = 2.0
    openstack_timeout: float = 30.0
    openstack_threads: int = 8
    shutdown_timeout: float = 10.0
    body_timeout: float = 10.0
    body_reads_max: int = 64
    keepalive_timeout: float = 75.0
    writes_per_minute: int = 60
    live_reads_per_minute: int = 300
    create_wait: float = 5.0
    job_max_attempts: int = 100
    job_retry_budget: float = 900.0
    job_retention: float = 7 * 24 * 3600.0
    job_visibility_timeout: float = 60.0
    job_concurrency: int = 16
    job_backoff_max: float = 60.0
    build_timeout: float = 1800.0
    build_poll_interval: float = 3.0
    webhook_keys_file: Path | None = None
    webhook_allow_http: bool = False
    webhook_allowed_networks: tuple[str, ...] = ()
    webhook_retry_schedule: tuple[float, ...] = WEBHOOK_RETRY_SCHEDULE
    webhook_timeout: float = 10.0
    webhook_disable_after: float = 5 * 24 * 3600.0
    webhooks_per_project: int = 25
    webhook_concurrency: int = 64
    webhook_endpoint_concurrency: int = 4
    events_heartbeat: float = 15.0
    worker_metrics_port: int = 9101
    log_level: str = "INFO"
    # CLOUD_SERVERS_* variables that name no setting (a typo, most likely): warned about at start
    unknown_variables: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        """Read and validate the settings; raises ``SettingsError`` naming the bad variable."""
        reader = _Reader(environ)
        settings = cls(
            redis_url=reader.text("REDIS_URL", required=True),
            clouds_file=reader.required_path("OS_CLIENT_CONFIG_FILE"),
            tokens_file=reader.path("API_TOKENS_FILE"),
            listen_host=reader.text("LISTEN_HOST", "127.0.0.1"),
            port=reader.integer("PORT", 8080, minimum=0, maximum=65535),
            web_concurrency=reader.integer("WEB_CONCURRENCY", 1, minimum=1, maximum=64),
            poll_interval=reader.seconds("POLL_INTERVAL", 30.0),
            full_resync_every=reader.integer("FULL_RESYNC_EVERY", 10, minimum=1),
            resources_interval=reader.seconds("RESOURCES_INTERVAL", 300.0),
            snapshot_max_age=reader.seconds("SNAPSHOT_MAX_AGE", 300.0),
            poll_lease=reader.seconds("POLL_LEASE", 60.0),
            poll_backoff_max=reader.seconds("POLL_BACKOFF_MAX", 120.0),
            changes_since_overlap=reader.seconds("CHANGES_SINCE_OVERLAP", 2.0, allow_zero=True),
            openstack_timeout=reader.seconds("OPENSTACK_TIMEOUT", 30.0),
            openstack_threads=reader.integer("OPENSTACK_THREADS", 8, minimum=1, maximum=256),
            shutdown_timeout=reader.seconds("SHUTDOWN_TIMEOUT", 10.0),
            body_timeout=reader.seconds("BODY_TIMEOUT", 10.0),
            body_reads_max=reader.integer("BODY_READS_MAX", 64, minimum=1, maximum=100_000),
            keepalive_timeout=reader.seconds("KEEPALIVE_TIMEOUT", 75.0),
            writes_per_minute=reader.integer("WRITES_PER_MINUTE", 60, minimum=1, maximum=1_000_000),
            live_reads_per_minute=reader.integer("LIVE_READS_PER_MINUTE", 300, minimum=1,
                                                 maximum=1_000_000),
            create_wait=reader.seconds("CREATE_WAIT", 5.0, allow_zero=True),
            job_max_attempts=reader.integer("JOB_MAX_ATTEMPTS", 100, minimum=1, maximum=10_000),
            job_retry_budget=reader.seconds("JOB_RETRY_BUDGET", 900.0),
            job_retention=reader.seconds("JOB_RETENTION", 7 * 24 * 3600.0),
            job_visibility_timeout=reader.seconds("JOB_VISIBILITY_TIMEOUT", 60.0),
            job_concurrency=reader.integer("JOB_CONCURRENCY", 16, minimum=1, maximum=1000),
            job_backoff_max=reader.seconds("JOB_BACKOFF_MAX", 60.0),
            build_timeout=reader.seconds("BUILD_TIMEOUT", 1800.0),
            build_poll_interval=reader.seconds("BUILD_POLL_INTERVAL", 3.0),
            webhook_keys_file=reader.path("WEBHOOK_KEYS_FILE"),
            webhook_allow_http=reader.flag("WEBHOOK_ALLOW_HTTP"),
            webhook_allowed_networks=reader.networks("WEBHOOK_ALLOWED_NETWORKS"),
            webhook_retry_schedule=reader.schedule("WEBHOOK_RETRY_SCHEDULE", WEBHOOK_RETRY_SCHEDULE),
            webhook_timeout=reader.seconds("WEBHOOK_TIMEOUT", 10.0),
            webhook_disable_after=reader.seconds("WEBHOOK_DISABLE_AFTER", 5 * 24 * 3600.0),
            webhooks_per_project=reader.integer("WEBHOOKS_PER_PROJECT", 25, minimum=1, maximum=1000),
            webhook_concurrency=reader.integer("WEBHOOK_CONCURRENCY", 64, minimum=1, maximum=10_000),
            webhook_endpoint_concurrency=reader.integer("WEBHOOK_ENDPOINT_CONCURRENCY", 4,
                                                        minimum=1, maximum=100),
            events_heartbeat=reader.seconds("EVENTS_HEARTBEAT", 15.0),
            worker_metrics_port=reader.integer("WORKER_METRICS_PORT", 9101, minimum=0, maximum=65535),
            log_level=reader.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            unknown_variables=reader.unknown_prefixed(),
        )
        if not settings.redis_url.startswith(("redis://", "rediss://", "unix://", *CLUSTER_SCHEMES)):
            raise SettingsError("REDIS_URL must start with redis://, rediss://, unix://, "
                                "redis+cluster:// or rediss+cluster://")
        if settings.web_concurrency > 1 and settings.port == 0:
            raise SettingsError("WEB_CONCURRENCY above 1 needs a fixed PORT: the processes share it")
        if settings.poll_lease <= settings.openstack_timeout:
            raise SettingsError("POLL_LEASE must be longer than OPENSTACK_TIMEOUT, or a slow poll "
                                "would outlive its lease and another worker would poll too")
        if settings.job_retention < IDEMPOTENCY_TTL:
            raise SettingsError("JOB_RETENTION must be at least 86400 (24 h): an Idempotency-Key "
                                "replay within 24 h needs the first request's job")
        if settings.webhook_keys_file is not None:
            try:
                SecretBox.from_file(settings.webhook_keys_file)
            except SecretKeysError as error:
                raise SettingsError(f"WEBHOOK_KEYS_FILE: {error}") from None
        if not settings.webhook_retry_schedule:
            raise SettingsError("WEBHOOK_RETRY_SCHEDULE needs at least one attempt")
        if settings.job_visibility_timeout <= settings.openstack_timeout:
            raise SettingsError("JOB_VISIBILITY_TIMEOUT must be longer than OPENSTACK_TIMEOUT")
        return settings


PREFIX = "CLOUD_SERVERS_"  # every setting may carry it; with both set, the prefixed one wins


class _Reader:
    """Typed access to an environment mapping, with operator-friendly errors."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._asked: set[str] = set()

    def unknown_prefixed(self) -> tuple[str, ...]:
        """The ``CLOUD_SERVERS_*`` variables set that no setting reads."""
        return tuple(sorted(name for name in self._environ
                            if name.startswith(PREFIX) and name[len(PREFIX):] not in self._asked))

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        self._asked.add(name)
        value = (self._environ.get(PREFIX + name) or self._environ.get(name, "")).strip()
        if not value:
            if required:
                raise SettingsError(f"{name} is required")
            return default or ""
        return value

    def path(self, name: str, *, required: bool = False) -> Path | None:
        value = self.text(name, required=required)
        if not value:
            return None
        path = Path(value)
        if not path.is_file():
            raise SettingsError(f"{name}={value}: no such file")
        return path

    def required_path(self, name: str) -> Path:
        path = self.path(name, required=True)
        assert path is not None  # path() raises for a missing required file
        return path

    def integer(self, name: str, default: int, *, minimum: int | None = None,
                maximum: int | None = None) -> int:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not a whole number") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise SettingsError(f"{name}={value} is out of range [{minimum}, {maximum}]")
        return value

    def seconds(self, name: str, default: float, *, allow_zero: bool = False) -> float:
        raw = self.text(name)
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

    def flag(self, name: str) -> bool:
        value = self.text(name, "false").lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise SettingsError(f"{name}={value!r} must be true or false")
        return value in ("true", "1", "yes")

    def networks(self, name: str) -> tuple[str, ...]:
        parts = [part.strip() for part in self.text(name).split(",") if part.strip()]
        try:
            return tuple(str(ipaddress.ip_network(part, strict=False)) for part in parts)
        except ValueError as error:
            raise SettingsError(f"{name}: {error}; give addresses or CIDR ranges, comma-separated") from None

    def schedule(self, name: str, default: tuple[float, ...]) -> tuple[float, ...]:
        raw = self.text(name)
        if not raw:
            return default
        try:
            delays = tuple(float(part) for part in raw.split(","))
        except ValueError:
            raise SettingsError(f"{name}={raw!r} must be seconds, comma-separated") from None
        if any(delay < 0 or not math.isfinite(delay) for delay in delays):
            raise SettingsError(f"{name}={raw!r}: delays must be finite and not negative")
        return delays

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default).upper()
        if value not in choices:
            raise SettingsError(f"{name}={value!r} must be one of {', '.join(choices)}")
        return value
