"""Prometheus metrics of the HTTP edge, in a registry owned by the app (no global state)."""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class HttpMetrics:
    """Requests by route and status, and their latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("http_request_duration_seconds", "Time to answer a request",
                                 ["method", "route"], registry=registry)
        self.stale_answers = Counter("snapshot_stale_answers", "Answers served from a stale snapshot",
                                     ["kind"], registry=registry)
        self.event_streams = Gauge("event_streams_open", "GET /cloud/events streams open now",
                                   registry=registry)
        self.redis_data_losses = Counter("redis_data_losses", "Times Redis was found to have lost "
                                         "its data (its epoch key changed)", registry=registry)
