"""The workers' Prometheus metrics, in a registry of their own."""
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeHistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from app.process.metrics_registry import DURATION_BUCKETS, NAMESPACE

LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000, 86400)
JOB_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
ATTEMPT_BUCKETS = (1, 2, 3, 5, 10, 20, 50, 100)
AGE_BUCKETS = (15, 30, 60, 120, 300, 600, 1800, 3600)


class SnapshotAges(Collector):
    """How old each project's snapshot is, as one distribution (not a series per project)."""

    def __init__(self) -> None:
        self._ages: list[float] = []

    def set(self, ages: Iterable[float]) -> None:
        """The ages now, in seconds (a project never refreshed counts as infinitely old)."""
        self._ages = list(ages)

    def collect(self) -> Iterable[Metric]:
        """A gauge histogram of the latest ages."""
        buckets = [(str(bound), sum(1 for age in self._ages if age <= bound)) for bound in AGE_BUCKETS]
        finite = [age for age in self._ages if age != float("inf")]
        yield GaugeHistogramMetricFamily(
            f"{NAMESPACE}_snapshot_age_seconds", "Time since each project's snapshot was last refreshed",
            buckets=[*buckets, ("+Inf", len(self._ages))], gsum_value=sum(finite))


class WorkerMetrics:
    """Jobs, polls, OpenStack calls and webhook deliveries, as a worker process sees them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.jobs_queued = Gauge("jobs_queued", "Jobs waiting or running, by kind (all projects)",
                                 ["kind"], namespace=NAMESPACE, registry=registry)
        self.jobs_finished = Counter("jobs_finished", "Jobs this worker finished, by kind and status",
                                     ["kind", "status"], namespace=NAMESPACE, registry=registry)
        self.job_attempts = Histogram("job_attempts", "Attempts a finished job took", ["kind"],
                                      buckets=ATTEMPT_BUCKETS, namespace=NAMESPACE, registry=registry)
        self.job_duration = Histogram("job_duration_seconds", "From a job's enqueue to its end",
                                      ["kind"], buckets=JOB_BUCKETS, namespace=NAMESPACE, registry=registry)
        self.poll_duration = Histogram("poll_duration_seconds", "Time one project's poll took",
                                       buckets=DURATION_BUCKETS, namespace=NAMESPACE, registry=registry)
        self.poll_errors = Counter("poll_errors", "Polls that failed", namespace=NAMESPACE, registry=registry)
        self.cloud_polls = Histogram("cloud_poll_duration_seconds", "Time one region's cloud-wide poll "
                                     "took, by region and outcome (ok, failed)", ["region", "outcome"],
                                     buckets=DURATION_BUCKETS, namespace=NAMESPACE, registry=registry)
        self.cloud_poll_dropped = Counter("cloud_poll_dropped_servers", "Servers a cloud-wide poll "
                                          "listed of projects with no credentials here", ["region"],
                                          namespace=NAMESPACE, registry=registry)
        self.openstack_calls = Histogram("openstack_request_duration_seconds",
                                         "OpenStack calls by service and outcome (ok, an HTTP "
                                         "status, timeout, unavailable)", ["service", "outcome"],
                                         buckets=DURATION_BUCKETS, namespace=NAMESPACE,
                                         registry=registry)
        self.snapshot_ages = SnapshotAges()
        registry.register(self.snapshot_ages)
        self.deliveries = Counter("webhook_deliveries", "Webhook delivery attempts by outcome "
                                  "(delivered, retried, failed, disabled)", ["outcome"],
                                  namespace=NAMESPACE, registry=registry)
        self.lag = Histogram("webhook_delivery_lag_seconds", "From an event observed to its 2xx",
                             buckets=LAG_BUCKETS, namespace=NAMESPACE, registry=registry)
        self.pending = Gauge("webhook_pending_deliveries", "Events not yet delivered, per subscription",
                             ["project_id", "subscription"], namespace=NAMESPACE, registry=registry)

    def openstack_call(self, service: str, outcome: str, seconds: float) -> None:
        """Observe one OpenStack call (the gateway's observer)."""
        self.openstack_calls.labels(service, outcome).observe(seconds)

    def job_finished(self, kind: str, status: str, attempts: int, created_at: float) -> None:
        """Count a job that ended, with its attempts and its time since enqueue."""
        self.jobs_finished.labels(kind, status).inc()
        self.job_attempts.labels(kind).observe(attempts)
        self.job_duration.labels(kind).observe(max(0.0, time.time() - created_at))
