"""The edge's request metrics, tallied without locks, expose exactly what prometheus-client's own
Counter and Histogram expose for the same answers."""
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app.api.answer_tally import AnswerTally
from app.process.metrics_registry import DURATION_BUCKETS, NAMESPACE

ANSWERS = [("GET", "/cloud/servers", 200, 0.003), ("GET", "/cloud/servers", 200, 0.005),
           ("GET", "/cloud/servers", 304, 0.0051), ("POST", "/cloud/servers", 202, 0.7),
           ("GET", "/cloud/servers/{server_id}", 404, 500.0), ("GET", "/cloud/servers", 200, 30.0)]


def samples(registry: CollectorRegistry) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items())), s.value)
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_tally_exposes_what_a_counter_and_a_histogram_would():
    ours, reference = CollectorRegistry(), CollectorRegistry()
    tally = AnswerTally(ours)
    requests = Counter("http_requests", "HTTP requests answered", ["method", "route", "status"],
                       namespace=NAMESPACE, registry=reference)
    latency = Histogram("http_request_duration_seconds", "Time to answer a request", ["method", "route"],
                        buckets=DURATION_BUCKETS, namespace=NAMESPACE, registry=reference)

    for method, route, status, seconds in ANSWERS:
        tally.answered(method, route, status, seconds)
        requests.labels(method, route, str(status)).inc()
        latency.labels(method, route).observe(seconds)

    expected = {s for s in samples(reference) if not s[0].endswith("_created")}
    assert samples(ours) == expected
    assert ("cloud_servers_http_request_duration_seconds_bucket",
            (("le", "0.005"), ("method", "GET"), ("route", "/cloud/servers")), 2.0) in expected
