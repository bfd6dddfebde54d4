"""Deliveries never reach a refused address, however the URL's name resolves at send time.

The test's resolver stub answers for the names, and its connector fails the test on any connect
outside 127.0.0.0/8, so nothing can leave this machine even if the guard under test were broken.
"""
import asyncio
import contextlib
import ipaddress
import socket

from aiohttp import TCPConnector
from aiohttp.abc import AbstractResolver
from prometheus_client import CollectorRegistry

from app.process.composition import open_services
from tests.service.webhook_helpers import subscribe, webhook_path
from tests.support import eventually
from workers.guarded_client import delivery_session
from workers.metrics import WorkerMetrics
from workers.webhook_sender import WebhookSender

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class StubResolver(AbstractResolver):
    """Answers from a table of names; no real DNS."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    async def resolve(self, host, port=0, family=socket.AF_INET):
        return [{"hostname": host, "host": self.table[host], "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self):
        pass


class LoopbackOnlyConnector(TCPConnector):
    """Connects only within 127.0.0.0/8; any other address is recorded and refused."""

    outside: list[str] = []

    async def _wrap_create_connection(self, *args, addr_infos, **kwargs):
        for info in addr_infos:
            if ipaddress.ip_address(info[4][0]) not in LOOPBACK:
                self.outside.append(info[4][0])
                raise OSError(f"test guard: no connection to {info[4][0]}")
        return await super()._wrap_create_connection(*args, addr_infos=addr_infos, **kwargs)


async def test_a_name_resolving_to_a_link_local_address_is_refused_at_send_time(
        service, api_client, receiver):
    setup = service(servers=0, webhook_retry_schedule="0")
    client = await api_client(setup.settings)
    hooks = await receiver()
    port = hooks.url.split(":")[2].split("/")[0]
    table = {"metadata.hooks.test": "169.254.169.254", "good.hooks.test": "127.0.0.1"}
    bad = await (await subscribe(client, setup, f"http://metadata.hooks.test:{port}/hook")).json()
    good = await (await subscribe(client, setup, f"http://good.hooks.test:{port}/hook")).json()
    for webhook in (bad, good):
        await client.post(webhook_path(setup, webhook["id"], "/ping"), headers=setup.headers())
    LoopbackOnlyConnector.outside = []

    async with open_services(setup.settings) as services:
        session = delivery_session(services.webhooks.destinations, 3, resolver=StubResolver(table),
                                   connector_class=LoopbackOnlyConnector)
        stop = asyncio.Event()
        metrics = WorkerMetrics(CollectorRegistry())
        sender = WebhookSender(services.settings, services.webhooks, session, metrics)
        sender = asyncio.create_task(sender.run(stop))
        try:
            async def attempted(webhook):
                return await services.webhooks.deliveries.attempts(setup.project_id, webhook["id"], 10)

            refused = await eventually(lambda: attempted(bad))
            delivered = await eventually(lambda: attempted(good))
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await session.close()

    assert LoopbackOnlyConnector.outside == []
    assert refused[0]["status_code"] is None and "link-local" in refused[0]["error"]
    assert delivered[0]["status_code"] == 200 and len(hooks.received) == 1
    shown = await (await client.get(webhook_path(setup, bad["id"]), headers=setup.headers())).json()
    assert shown["pending_deliveries"] == 0  # its only attempt failed: recorded as failed
