"""Webhook deliveries from the workers to real receivers on 127.0.0.1: order, signatures,
retries, disabling, isolation and rotation."""
import asyncio

from standardwebhooks import Webhook

from tests.service.webhook_helpers import subscribe, webhook_path
from tests.service.writing import create_body, finished_job, post_server
from tests.support import eventually

QUICK_RETRIES = {"webhook_retry_schedule": "0,0.2,0.2", "webhook_timeout": "3"}


async def test_a_servers_life_arrives_in_order_and_every_delivery_verifies(
        service, api_client, workers_running, receiver):
    setup = service(servers=1, **QUICK_RETRIES)
    client = await api_client(setup.settings)
    hooks = await receiver()
    secret = (await (await subscribe(client, setup, hooks.url)).json())["secret"]

    async with workers_running(setup.settings):
        created = await (await post_server(client, setup, await create_body(client, setup))).json()
        server_id = (await finished_job(client, setup, created["job"]["href"]))["server_id"]
        deleted = await client.delete(f"/cloud/servers/{server_id}?project_id={setup.project_id}",
                                      headers=setup.headers())
        assert deleted.status == 204

        def of_server():
            return [e for e in hooks.events() if (e["data"].get("server") or {}).get("id") == server_id
                    or (e["data"].get("job") or {}).get("server_id") == server_id]

        async def both_jobs_announced():
            return [e["type"] for e in of_server()].count("job.succeeded") == 2

        await eventually(both_jobs_announced, timeout=30)

    assert [e["type"] for e in of_server()] == [
        "server.created", "server.status_changed", "job.succeeded", "server.deleted", "job.succeeded"]
    change = of_server()[1]
    assert (change["data"]["from"], change["data"]["to"]) == ("BUILD", "ACTIVE")
    assert "task_state" in change["data"] and change["data"]["server"]["status"] == "ACTIVE"
    verifier = Webhook(secret)
    for received in hooks.received:
        assert verifier.verify(received.body, received.headers) == received.event
        assert received.id == received.event["id"]
        assert set(received.event) == {"id", "type", "timestamp", "project_id", "data"}
        assert received.event["project_id"] == setup.project_id
    assert len({r.id for r in hooks.received}) == len(hooks.received)


async def test_a_failing_receiver_gets_the_same_event_until_it_answers_2xx(
        service, api_client, workers_running, receiver):
    setup = service(servers=0, **QUICK_RETRIES)
    client = await api_client(setup.settings)
    hooks = await receiver(answers=[500, 500])
    webhook = await (await subscribe(client, setup, hooks.url)).json()

    async with workers_running(setup.settings):
        ping = await client.post(webhook_path(setup, webhook["id"], "/ping"), headers=setup.headers())
        queued = await ping.json()

        async def three_attempts_logged():
            log = await (await client.get(webhook_path(setup, webhook["id"], "/deliveries"),
                                          headers=setup.headers())).json()
            return log if len(log) == 3 else None

        log = await eventually(three_attempts_logged)

    assert ping.status == 202 and queued["event_type"] == "webhook.ping"
    assert [r.id for r in hooks.received] == [queued["event_id"]] * 3
    assert [(a["attempt"], a["status_code"]) for a in log] == [(3, 200), (2, 500), (1, 500)]
    assert {a["delivery_id"] for a in log} == {queued["delivery_id"]}
    assert all(a["event_type"] == "webhook.ping" and a["duration_ms"] >= 0 for a in log)
    shown = await (await client.get(webhook_path(setup, webhook["id"]), headers=setup.headers())).json()
    assert shown["pending_deliveries"] == 0 and shown["failing_since"] is None
    first = await client.get(webhook_path(setup, webhook["id"], "/deliveries") + "&limit=2",
                             headers=setup.headers())
    following = await client.get(first.headers["Link"].split(">")[0].lstrip("<"), headers=setup.headers())
    assert [a["attempt"] for a in await first.json()] == [3, 2]
    assert [a["attempt"] for a in await following.json()] == [1] and "Link" not in following.headers


async def test_after_the_last_attempt_the_delivery_is_failed_and_can_be_redelivered(
        service, api_client, workers_running, receiver):
    setup = service(servers=0, **QUICK_RETRIES)
    client = await api_client(setup.settings)
    hooks = await receiver(answers=[503, 503, 503])
    webhook = await (await subscribe(client, setup, hooks.url)).json()

    async with workers_running(setup.settings):
        queued = await (await client.post(webhook_path(setup, webhook["id"], "/ping"),
                                          headers=setup.headers())).json()

        async def log_of(count):
            log = await (await client.get(webhook_path(setup, webhook["id"], "/deliveries"),
                                          headers=setup.headers())).json()
            return log if len(log) == count else None

        await eventually(lambda: log_of(3))
        shown = await (await client.get(webhook_path(setup, webhook["id"]), headers=setup.headers())).json()
        again = await client.post(webhook_path(
            setup, webhook["id"], f"/deliveries/{queued['delivery_id']}/redeliver"), headers=setup.headers())
        log = await eventually(lambda: log_of(4))

    assert shown["pending_deliveries"] == 0 and shown["failing_since"] is not None
    assert again.status == 202 and (await again.json())["event_id"] == queued["event_id"]
    assert (log[0]["status_code"], log[0]["attempt"]) == (200, 1)
    assert [r.id for r in hooks.received] == [queued["event_id"]] * 4


async def test_a_410_disables_the_subscription(service, api_client, workers_running, receiver):
    setup = service(servers=0, **QUICK_RETRIES)
    client = await api_client(setup.settings)
    hooks = await receiver(answers=[410])
    webhook = await (await subscribe(client, setup, hooks.url)).json()

    async with workers_running(setup.settings):
        await client.post(webhook_path(setup, webhook["id"], "/ping"), headers=setup.headers())

        async def disabled():
            shown = await (await client.get(webhook_path(setup, webhook["id"]),
                                            headers=setup.headers())).json()
            return shown if not shown["enabled"] else None

        shown = await eventually(disabled)
        refused = await client.post(webhook_path(setup, webhook["id"], "/ping"), headers=setup.headers())

    assert "410" in shown["disabled_reason"] and shown["disabled_at"] is not None
    assert shown["pending_deliveries"] == 0  # no retry waits: the ping was its last delivery
    assert refused.status == 409 and "disabled" in (await refused.json())["detail"]
    assert len(hooks.received) == 1  # nothing more goes to a subscription that is gone


async def test_a_hanging_receiver_does_not_delay_another_subscription(
        service, api_client, workers_running, receiver):
    setup = service(servers=0, webhook_timeout="8", webhook_concurrency="2",
                    webhook_endpoint_concurrency="1")
    client = await api_client(setup.settings)
    hanging, healthy = await receiver(hanging=True), await receiver()
    stuck = await (await subscribe(client, setup, hanging.url)).json()
    fine = await (await subscribe(client, setup, healthy.url)).json()

    try:
        async with workers_running(setup.settings):
            for _ in range(3):
                await client.post(webhook_path(setup, stuck["id"], "/ping"), headers=setup.headers())
            await eventually(lambda: asyncio.sleep(0, len(hanging.received)))
            await client.post(webhook_path(setup, fine["id"], "/ping"), headers=setup.headers())

            await eventually(lambda: asyncio.sleep(0, len(healthy.received)), timeout=4)
            assert len(hanging.received) == 1  # still waiting on its first answer
    finally:
        hanging.hanging = False


async def test_after_a_rotation_deliveries_verify_with_the_old_and_the_new_secret(
        service, api_client, workers_running, receiver):
    setup = service(servers=0, **QUICK_RETRIES)
    client = await api_client(setup.settings)
    hooks = await receiver()
    webhook = await (await subscribe(client, setup, hooks.url)).json()
    rotated = await (await client.post(webhook_path(setup, webhook["id"], "/rotate-secret"),
                                       headers=setup.headers())).json()

    async with workers_running(setup.settings):
        await client.post(webhook_path(setup, webhook["id"], "/ping"), headers=setup.headers())
        await eventually(lambda: asyncio.sleep(0, hooks.received))

    received = hooks.received[0]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    for secret in (webhook["secret"], rotated["secret"]):
        assert Webhook(secret).verify(received.body, received.headers)["type"] == "webhook.ping"
