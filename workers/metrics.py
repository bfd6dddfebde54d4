"""The workers' Prometheus metrics, in a registry of their own, served on their metrics port."""
import logging

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

logger = logging.getLogger(__name__)
LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000, 86400)


class WorkerMetrics:
    """Webhook deliveries: by outcome, their lag, and what is pending per subscription."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.deliveries = Counter("webhook_deliveries", "Webhook delivery attempts by outcome "
                                  "(delivered, retried, failed, disabled)", ["outcome"], registry=registry)
        self.lag = Histogram("webhook_delivery_lag_seconds", "From an event observed to its 2xx",
                             buckets=LAG_BUCKETS, registry=registry)
        self.pending = Gauge("webhook_pending_deliveries", "Events not yet delivered, per subscription",
                             ["project_id", "subscription"], registry=registry)


async def start_metrics_server(registry: CollectorRegistry, host: str, port: int) -> web.AppRunner:
    """Serve ``GET /metrics`` on ``host:port`` (0: a free port, logged); stop with ``cleanup``."""
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    logger.info("worker metrics on http://%s:%d/metrics", host, runner.addresses[0][1])
    return runner
