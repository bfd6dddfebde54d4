"""``python -m workers``: the background workers: the Nova poller, the job runner and the
webhook sender."""
import asyncio
import logging
import signal

from prometheus_client import CollectorRegistry

from app.composition import Services, open_services
from app.settings import Settings
from app.startup import settings_and_logging

from .guarded_client import delivery_session
from .job_runner import JobRunner
from .metrics import WorkerMetrics, start_metrics_server
from .poller import Poller
from .webhook_sender import WebhookSender

logger = logging.getLogger("workers")


async def run_workers(settings: Settings, stop: asyncio.Event) -> None:
    """Run the poller and the job runner until ``stop`` is set, then close what they opened."""
    async with open_services(settings) as services:
        poller = Poller(settings, services.directory, services.refresher, services.schedule)
        runner = JobRunner(settings, services.directory, services.queue, services.jobs,
                           services.executor)
        logger.info("polling %d projects every %.0f s; running jobs as %s",
                    len(services.directory.project_ids), settings.poll_interval, runner.consumer)

        async def rebuild() -> None:  # Redis lost its data: consumer groups and schedule anew
            services.queue.forget_groups()
            await poller.register()

        metrics = WorkerMetrics(CollectorRegistry())
        metrics_server = await start_metrics_server(metrics.registry, settings.listen_host,
                                                    settings.worker_metrics_port)
        try:
            await asyncio.gather(poller.run(stop, drain_timeout=settings.shutdown_timeout),
                                 runner.run(stop), services.epoch.watch(rebuild, stop),
                                 _send_webhooks(services, metrics, stop))
        finally:
            await metrics_server.cleanup()
    logger.info("stopped")


async def _send_webhooks(services: Services, metrics: WorkerMetrics, stop: asyncio.Event) -> None:
    """The webhook sender's run, over its own guarded HTTP client; nothing without a secrets key."""
    if not services.subscriptions.configured:
        logger.info("webhooks are off: WEBHOOK_KEYS_FILE is not set")
        await stop.wait()
        return
    async with delivery_session(services.destinations, services.settings.webhook_timeout) as session:
        await WebhookSender(services, session, metrics, services.clock).run(stop)


async def _serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_workers(settings, stop)


def main() -> None:
    """Load the settings, configure logging, run until SIGINT or SIGTERM."""
    asyncio.run(_serve(settings_and_logging()))


if __name__ == "__main__":
    main()
