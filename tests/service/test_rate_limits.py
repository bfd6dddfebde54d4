"""Per-token rate limits on writes and live reads, shared by every API replica through Redis."""
from tests.support import ManualClock


def show_path(setup, server_id):
    return f"/cloud/servers/{server_id}?project_id={setup.project_id}"


async def test_live_reads_past_the_limit_are_429_with_retry_after_until_the_budget_refills(
        service, api_client):
    setup = service(servers=1, live_reads_per_minute=2)
    clock = ManualClock()
    client = await api_client(setup.settings, clock)
    server_id = (await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                         headers=setup.headers())).json())[0]["id"]

    statuses = [(await client.get(show_path(setup, server_id), headers=setup.headers())).status
                for _ in range(2)]
    limited = await client.get(show_path(setup, server_id), headers=setup.headers())
    problem = await limited.json(content_type="application/problem+json")
    listing = await client.get(f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers())
    other_caller = await client.get(show_path(setup, server_id), headers=setup.headers("p0"))
    clock.advance(31)
    refilled = await client.get(show_path(setup, server_id), headers=setup.headers())

    assert statuses == [200, 200] and limited.status == 429
    assert problem["type"] == "/problems/rate-limited" and 1 <= int(limited.headers["Retry-After"]) <= 30
    assert listing.status == 200  # snapshot reads cost OpenStack nothing
    assert other_caller.status == 200 and refilled.status == 200


async def test_the_write_budget_is_shared_by_every_api_replica(service, api_client):
    setup = service(servers=2, writes_per_minute=2)
    clock = ManualClock()
    replicas = [await api_client(setup.settings, clock) for _ in range(2)]
    servers = await (await replicas[0].get(f"/cloud/servers?project_id={setup.project_id}",
                                           headers=setup.headers())).json()
    path = f"/cloud/servers/{servers[0]['id']}?project_id={setup.project_id}"

    answers = [await replica.delete(path, headers=setup.headers()) for replica in (*replicas, replicas[0])]

    assert [a.status for a in answers] == [204, 204, 429]
    assert "Retry-After" in answers[2].headers
