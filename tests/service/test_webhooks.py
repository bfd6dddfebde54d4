"""Webhook subscriptions over the API: shown, listed, deleted, validated, kept apart per project."""
import json

from app.store import redis_layout as layout
from tests.service.webhook_helpers import subscribe, webhook_path


async def test_a_subscription_shows_its_secret_once_and_is_listed_shown_and_deleted(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)

    created = await subscribe(client, setup, "https://hooks.example.com/cloud", description="ops")
    body = await created.json()
    shown = await (await client.get(webhook_path(setup, body["id"]), headers=setup.headers())).json()
    listed = await (await client.get(f"/cloud/webhooks?project_id={setup.project_id}",
                                     headers=setup.headers())).json()
    deleted = await client.delete(webhook_path(setup, body["id"]), headers=setup.headers())
    after = await client.get(webhook_path(setup, body["id"]), headers=setup.headers())

    assert created.status == 201 and created.headers["Location"] == webhook_path(setup, body["id"])
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert {k: v for k, v in body.items() if k != "secret"} == shown
    assert shown["url"] == "https://hooks.example.com/cloud" and shown["description"] == "ops"
    assert shown["enabled"] is True and shown["disabled_reason"] is None
    assert shown["pending_deliveries"] == 0
    assert "secret" not in shown and listed == [shown]
    assert deleted.status == 204 and after.status == 404


async def test_the_secret_is_kept_encrypted(service, api_client, redis):
    setup = service(servers=0)
    client = await api_client(setup.settings)

    body = await (await subscribe(client, setup, "https://hooks.example.com/")).json()

    stored = await redis.hgetall(layout.webhook(setup.project_id, body["id"]))
    assert body["secret"].encode() not in b"".join(stored.values())
    assert body["secret"].removeprefix("whsec_").encode() not in b"".join(stored.values())


async def test_bad_subscriptions_are_422_naming_each_field(service, api_client):
    setup = service(servers=0, webhook_allow_http="false", webhook_allowed_networks="")
    client = await api_client(setup.settings)

    cases = {
        "http://hooks.example.com/": "url",
        "ftp://hooks.example.com/": "url",
        "https://169.254.169.254/latest/meta-data": "url",
        "https://10.1.2.3/hook": "url",
        "https://127.0.0.1/hook": "url",
        "https://[fd00::1]/hook": "url",
        "https://[::ffff:169.254.169.254]/hook": "url",
        "https://localhost/hook": "url",
        "https://user:pw@hooks.example.com/": "url",
        "https://hooks.example.com/a b": "url",
        "https://api.localhost/hook": "url",
    }
    answers = {url: await subscribe(client, setup, url) for url in cases}
    unknown_type = await subscribe(client, setup, "https://hooks.example.com/", events=["server.exploded"])
    no_events = await subscribe(client, setup, "https://hooks.example.com/", events=[])

    for url, answer in answers.items():
        problem = await answer.json()
        assert answer.status == 422, url
        assert answer.content_type == "application/problem+json"
        assert list(problem["errors"]) == [cases[url]], url
    assert unknown_type.status == 422 and list((await unknown_type.json())["errors"]) == ["events.0"]
    assert no_events.status == 422 and list((await no_events.json())["errors"]) == ["events"]


async def test_a_project_has_a_limited_number_of_subscriptions(service, api_client):
    setup = service(servers=0, webhooks_per_project=2)
    client = await api_client(setup.settings)

    answers = [await subscribe(client, setup, f"https://hooks.example.com/{n}") for n in range(3)]

    assert [a.status for a in answers] == [201, 201, 422]
    assert list((await answers[2].json())["errors"]) == ["project_id"]


async def test_another_projects_subscription_is_a_404_and_its_token_cannot_subscribe(service, api_client):
    setup = service(projects=2, servers=0)
    client = await api_client(setup.settings)
    body = await (await subscribe(client, setup, "https://hooks.example.com/")).json()

    through_other = await client.get(webhook_path(setup, body["id"], project_index=1),
                                     headers=setup.headers())
    outsider = await client.get(webhook_path(setup, body["id"]), headers=setup.headers("p1"))
    foreign_subscribe = await subscribe(client, setup, "https://hooks.example.com/", who="p1")
    deleted_through_other = await client.delete(webhook_path(setup, body["id"], project_index=1),
                                                headers=setup.headers())

    assert through_other.status == 404 and deleted_through_other.status == 404
    assert outsider.status == 403 and foreign_subscribe.status == 403
    assert (await client.get(webhook_path(setup, body["id"]), headers=setup.headers())).status == 200


async def test_rotation_answers_a_new_secret_and_when_the_old_one_stops(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    body = await (await subscribe(client, setup, "https://hooks.example.com/")).json()

    rotated = await client.post(webhook_path(setup, body["id"], "/rotate-secret"), headers=setup.headers())
    answer = await rotated.json()

    assert rotated.status == 200 and answer["secret"].startswith("whsec_")
    assert answer["secret"] != body["secret"] and answer["id"] == body["id"]
    assert answer["previous_secrets_expire_at"] > body["created_at"]


async def test_without_a_secrets_key_webhooks_answer_503(service, api_client):
    setup = service(servers=0, webhook_keys_file="")
    client = await api_client(setup.settings)

    answer = await subscribe(client, setup, "https://hooks.example.com/")

    assert answer.status == 503 and (await answer.json())["type"] == "/problems/not-configured"
    assert "secret" not in json.dumps(await answer.json()).lower().replace("secrets", "")
