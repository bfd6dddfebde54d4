"""A worker SIGKILLed in the middle of a delivery loses nothing: another sends it again, with the
same event id; and the workers' metrics count it."""
import asyncio
import signal

import aiohttp

from devtools.localredis import free_port
from tests.service.webhook_helpers import subscribe, webhook_path
from tests.support import eventually


async def test_a_delivery_cut_short_by_sigkill_is_sent_again_with_the_same_id(
        service, api_client, receiver, worker_process):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    hooks = await receiver(hanging=True)
    webhook = await (await subscribe(client, setup, hooks.url)).json()
    queued = await (await client.post(webhook_path(setup, webhook["id"], "/ping"),
                                      headers=setup.headers())).json()
    quick = {"webhook_timeout": "2"}  # a claimed delivery's lease: 2 x 2 + 5 = 9 s

    first = worker_process(setup, **quick)
    await eventually(lambda: asyncio.sleep(0, hooks.received), timeout=20)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    hooks.hanging = False
    metrics_port = free_port()
    worker_process(setup, worker_metrics_port=metrics_port, **quick)

    async def delivered():
        log = await (await client.get(webhook_path(setup, webhook["id"], "/deliveries"),
                                      headers=setup.headers())).json()
        return log if log and log[0]["status_code"] == 200 else None

    log = await eventually(delivered, timeout=30)
    async with aiohttp.ClientSession() as session:
        metrics = await (await session.get(f"http://127.0.0.1:{metrics_port}/metrics")).text()

    assert [r.id for r in hooks.received] == [queued["event_id"]] * 2
    assert len(log) == 1 and log[0]["delivery_id"] == queued["delivery_id"]
    assert 'webhook_deliveries_total{outcome="delivered"} 1.0' in metrics
    assert "webhook_delivery_lag_seconds_count 1.0" in metrics
    assert (f'webhook_pending_deliveries{{project_id="{setup.project_id}",subscription="{webhook["id"]}"}}'
            in metrics)
