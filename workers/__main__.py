"""``python -m workers``: the background workers: the Nova poller, the job runner and the
webhook sender, with their health, metrics and heartbeat."""
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from redis.exceptions import RedisError

from app.process.composition import Services, open_services
from app.process.heartbeats import HEARTBEAT_INTERVAL
from app.process.metrics_registry import new_registry
from app.process.settings import Settings
from app.process.startup import settings_and_logging

from .cloud_poller import CloudPoller
from .guarded_client import delivery_session
from .health import Liveness, health_app, start_health_server
from .job_runner import JobRunner
from .metrics import WorkerMetrics
from .poller import Poller
from .webhook_sender import WebhookSender

logger = logging.getLogger("workers")


async def run_workers(settings: Settings, stop: asyncio.Event) -> None:
    """Run the poller, the job runner and the webhook sender until ``stop`` is set, serving
    health and metrics on the workers' port; then close what they opened."""
    async with open_services(settings) as services:
        metrics, liveness = WorkerMetrics(new_registry()), Liveness()
        services.gateway.observe_calls(metrics.openstack_call)
        poller = Poller(settings, services.directory, services.refresher, services.schedule,
                        services.cloud_poll, metrics, services.heartbeats.alive)
        cloud_poller = CloudPoller(settings, services.cloud_poll, metrics, services.clock)
        runner = JobRunner(settings, services.directory, services.queue, services.jobs,
                           services.executor, metrics)
        logger.info("polling %d projects every %.0f s; running jobs as %s",
                    len(services.directory.project_ids), settings.poll_interval, runner.consumer)

        async def rebuild() -> None:  # Redis lost its data: consumer groups and schedule anew
            services.queue.forget_groups()
            await poller.register()

        health = await start_health_server(health_app(metrics.registry, liveness, services.redis),
                                           settings.listen_host, settings.worker_metrics_port)
        try:
            await asyncio.gather(
                poller.run(stop, drain_timeout=settings.shutdown_timeout,
                           beat=lambda: liveness.beat("poller")),
                runner.run(stop, beat=lambda: liveness.beat("job runner")),
                cloud_poller.run(stop, beat=lambda: liveness.beat("cloud-wide poller")),
                services.epoch.watch(rebuild, stop),
                _send_webhooks(services, metrics, stop, lambda: liveness.beat("webhook sender")),
                _heartbeat(services, runner.consumer, stop))
        finally:
            await health.cleanup()
    logger.info("stopped")


async def _send_webhooks(services: Services, metrics: WorkerMetrics, stop: asyncio.Event,
                         beat: Callable[[], None]) -> None:
    """The webhook sender's run, over its own guarded HTTP client; nothing without a secrets key."""
    if not services.webhooks.subscriptions.configured:
        logger.info("webhooks are off: WEBHOOK_KEYS_FILE is not set")
        await stop.wait()
        return
    async with delivery_session(services.webhooks.destinations, services.settings.webhook_timeout) as session:
        await WebhookSender(services.settings, services.webhooks, session, metrics,
                            services.clock).run(stop, beat)


async def _heartbeat(services: Services, worker: str, stop: asyncio.Event) -> None:
    """Record this worker as alive every few seconds, so the API can count the workers."""
    while not stop.is_set():
        try:
            await services.heartbeats.beat(worker)
        except RedisError as error:
            logger.debug("heartbeat not recorded: %s", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HEARTBEAT_INTERVAL)
    with contextlib.suppress(RedisError):
        await services.heartbeats.forget(worker)


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
