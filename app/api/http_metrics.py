"""Prometheus metrics of the HTTP edge, in a registry owned by the app (no global state)."""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..process.metrics_registry import DURATION_BUCKETS, NAMESPACE
from .answer_tally import AnswerTally


class HttpMetrics:
    """Requests by route and status, their latency, the API's OpenStack calls, open event
    streams, and the workers alive (from their heartbeats)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.answers = AnswerTally(registry)
        self.stale_answers = Counter("snapshot_stale_answers", "Answers served from a stale snapshot",
                                     ["kind"], namespace=NAMESPACE, registry=registry)
        self.event_streams = Gauge("event_streams_open", "GET /cloud/events streams open now",
                                   namespace=NAMESPACE, registry=registry)
        self.openstack_calls = Histogram("openstack_request_duration_seconds",
                                         "OpenStack calls by service and outcome (ok, an HTTP "
                                         "status, timeout, unavailable)", ["service", "outcome"],
                                         buckets=DURATION_BUCKETS, namespace=NAMESPACE,
                                         registry=registry)
        self.workers_alive = Gauge("workers_alive", "Worker processes whose heartbeat is recent",
                                   namespace=NAMESPACE, registry=registry)
        self.unparsed = Counter("http_unparsed_requests", "Requests the HTTP parser rejected before "
                                "routing (not HTTP, an unknown method, a malformed header)",
                                ["status"], namespace=NAMESPACE, registry=registry)
        self.redis_data_losses = Counter("redis_data_losses", "Times Redis was found to have lost "
                                         "its data (its epoch key changed)", namespace=NAMESPACE,
                                         registry=registry)
        self.unreplicated_writes = Counter("redis_unreplicated_writes", "Acknowledged writes made while "
                                           "the Redis master had no replica to wait for",
                                           namespace=NAMESPACE, registry=registry)

    def openstack_call(self, service: str, outcome: str, seconds: float) -> None:
        """Observe one OpenStack call (the gateway's observer)."""
        self.openstack_calls.labels(service, outcome).observe(seconds)
