"""Who may call what: bearer tokens, project scope, project ids, problem documents."""
import dataclasses
import json
import uuid

import pytest
import yaml

from app.access.tokens import digest_of
from devtools.localredis import free_port
from tests.support import eventually


@pytest.fixture
async def setup_and_client(service, api_client):
    setup = service(projects=2, servers=1)
    return setup, await api_client(setup.settings)


async def test_missing_token_is_401_with_a_bearer_challenge(setup_and_client):
    setup, client = setup_and_client

    response = await client.get(f"/cloud/servers?project_id={setup.project_id}")
    body = await response.json(content_type="application/problem+json")

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["status"] == 401 and body["instance"] == "/cloud/servers" and body["request_id"]


@pytest.mark.parametrize("authorization", ["Bearer nope", "Basic YWRtaW46YWRtaW4=", "Bearer", ""])
async def test_unknown_or_malformed_credentials_are_401(setup_and_client, authorization):
    setup, client = setup_and_client

    response = await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                headers={"Authorization": authorization})

    assert response.status == 401


async def test_project_outside_the_tokens_scope_is_403(setup_and_client):
    setup, client = setup_and_client
    other = setup.projects[1].id

    response = await client.get(f"/cloud/servers?project_id={other}", headers=setup.headers("p0"))

    assert response.status == 403
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("query, field", [
    ("", "project_id"), ("?project_id=not-a-uuid", "project_id"),
    ("?project_id=1234", "project_id"),
])
async def test_missing_or_malformed_project_id_is_400_naming_the_field(setup_and_client, query, field):
    setup, client = setup_and_client

    response = await client.get(f"/cloud/servers{query}", headers=setup.headers())
    body = await response.json(content_type="application/problem+json")

    assert response.status == 400 and field in body["errors"]


async def test_dashed_and_undashed_project_ids_are_the_same_project(setup_and_client):
    setup, client = setup_and_client
    dashed = str(uuid.UUID(setup.project_id))

    plain = await client.get(f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers("p0"))
    with_dashes = await client.get(f"/cloud/servers?project_id={dashed}", headers=setup.headers("p0"))

    assert plain.status == with_dashes.status == 200
    assert await plain.json() == await with_dashes.json()


async def test_project_in_scope_without_credentials_is_404(service, api_client):
    unconfigured = uuid.uuid4().hex
    setup = service(servers=0, unconfigured=[unconfigured])
    client = await api_client(setup.settings)

    response = await client.get(f"/cloud/servers?project_id={unconfigured}",
                                headers=setup.headers("stranger"))

    assert response.status == 404
    body = await response.json(content_type="application/problem+json")
    assert body["type"] == "/problems/unknown-project"


async def test_unknown_query_parameter_is_400(setup_and_client):
    setup, client = setup_and_client

    response = await client.get(f"/cloud/servers?project_id={setup.project_id}&colour=blue",
                                headers=setup.headers())

    assert response.status == 400
    assert "colour" in (await response.json(content_type="application/problem+json"))["errors"]


async def test_request_id_is_echoed_or_made(setup_and_client):
    setup, client = setup_and_client

    echoed = await client.get("/healthz", headers={"X-Request-Id": "trace-42"})
    made = await client.get(f"/cloud/servers?project_id={setup.project_id}")

    assert echoed.headers["X-Request-Id"] == "trace-42"
    assert len(made.headers["X-Request-Id"]) == 32
    body = await made.json(content_type="application/problem+json")
    assert body["request_id"] == made.headers["X-Request-Id"]


async def test_the_server_header_names_no_library_versions(setup_and_client):
    setup, client = setup_and_client

    answers = [await client.get("/healthz"), await client.get("/nowhere"),
               await client.get(f"/cloud/servers?project_id={setup.project_id}")]

    assert {a.headers["Server"] for a in answers} == {"cloud-servers-api"}


async def test_operations_endpoints_need_no_token(setup_and_client):
    _, client = setup_and_client

    for path in ("/healthz", "/readyz", "/metrics", "/cloud/openapi.json"):
        assert (await client.get(path)).status == 200, path


async def test_tokens_file_is_reread_when_it_changes(setup_and_client, monkeypatch):
    setup, client = setup_and_client
    document = yaml.safe_load(setup.settings.tokens_file.read_text())
    document["tokens"].append({"name": "rotated", "sha256": digest_of("fresh-token").hex(),
                               "projects": [setup.project_id]})
    setup.settings.tokens_file.write_text(yaml.safe_dump(document))

    async def accepted():
        response = await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                    headers={"Authorization": "Bearer fresh-token"})
        return response.status == 200

    await eventually(accepted, timeout=5)  # the contract's bound on noticing a change


async def test_an_unreachable_redis_is_503_not_a_crash(service, api_client, caplog):
    setup = service(servers=0)
    settings = dataclasses.replace(setup.settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = await api_client(settings)

    listing = await client.get(f"/cloud/servers?project_id={setup.project_id}", headers=setup.headers())
    ready = await client.get("/readyz")

    body = await listing.json(content_type="application/problem+json")
    assert listing.status == 503 and body["type"] == "/problems/store-unavailable"
    assert listing.headers["Retry-After"] == "5" and ready.status == 503
    assert "Traceback" not in caplog.text


async def test_every_request_is_logged_without_its_token_or_query(service, api_client, service_log):
    setup = service(servers=0)
    service_log.configure("INFO")
    client = await api_client(setup.settings)

    await client.get(f"/cloud/flavors?project_id={setup.project_id}", headers=setup.headers())

    def access_lines():
        lines = [json.loads(line) for line in service_log.text().splitlines()]
        return [line for line in lines if line["logger"] == "app.access"]

    [line] = await eventually(access_lines, timeout=2)  # written within a second
    assert line["message"].startswith("GET /cloud/flavors 200 ") and "project_id=" not in line["message"]
    assert setup.tokens["admin"] not in service_log.text()


async def test_the_access_log_buffer_is_written_at_shutdown(service, api_client, service_log):
    setup = service(servers=0)
    service_log.configure("INFO")
    client = await api_client(setup.settings)

    for _ in range(3):
        await client.get(f"/cloud/flavors?project_id={setup.project_id}", headers=setup.headers())
    await client.close()  # the app stops at once, before the next periodic write

    lines = [json.loads(line) for line in service_log.text().splitlines()]
    access = [line for line in lines if line["logger"] == "app.access"]
    assert [line["route"] for line in access] == ["/cloud/flavors"] * 3
    assert all(line["request_id"] and line["caller"] == "admin" for line in access)


async def test_a_static_tokens_role_limits_what_it_may_do(service, api_client):
    setup = service(servers=1)
    document = yaml.safe_load(setup.settings.tokens_file.read_text())
    document["tokens"].append({"name": "dashboard", "sha256": digest_of("read-only").hex(),
                               "projects": "*", "role": "reader"})
    setup.settings.tokens_file.write_text(yaml.safe_dump(document))
    client = await api_client(setup.settings)
    reader = {"Authorization": "Bearer read-only"}

    listed = await client.get(f"/cloud/servers?project_id={setup.project_id}", headers=reader)
    server_id = (await listed.json())[0]["id"]
    deleted = await client.delete(f"/cloud/servers/{server_id}?project_id={setup.project_id}",
                                  headers=reader)
    problem = await deleted.json()

    assert listed.status == 200 and deleted.status == 403
    assert problem["detail"] == (f"This request needs the 'editor' role on project {setup.project_id}; "
                                 "the caller 'dashboard' has 'reader'.")
