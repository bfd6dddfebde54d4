"""What every process's Prometheus registry shares: the ``cloud_servers_`` namespace, no
``_created`` series, the process and Python collectors, and duration buckets past the 30 s
OpenStack timeout."""
import prometheus_client
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

NAMESPACE = "cloud_servers"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
                    120.0)


def new_registry() -> CollectorRegistry:
    """A registry with the process, platform and garbage-collector collectors."""
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # process-wide
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry
