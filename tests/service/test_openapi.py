"""The OpenAPI document is generated from the schemas that shape the answers."""
from app.api.schemas import ServerSchema


async def test_openapi_document_describes_every_endpoint(service, api_client):
    setup = service(servers=1)
    client = await api_client(setup.settings)

    spec = await (await client.get("/cloud/openapi.json")).json()

    assert spec["openapi"].startswith("3.")
    assert {"/cloud/servers", "/cloud/servers/{server_id}", "/cloud/flavors", "/cloud/images",
            "/cloud/networks", "/cloud/ssh-keypairs", "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    server = spec["components"]["schemas"]["Server"]
    assert set(server["properties"]) == set(ServerSchema().fields)
    parameters = {p["name"]: p for p in spec["paths"]["/cloud/servers"]["get"]["parameters"]}
    assert parameters["project_id"]["required"] is True
    assert parameters["limit"]["schema"]["maximum"] == 1000
    assert set(spec["paths"]["/cloud/servers"]) == {"get", "post"}
    assert set(spec["paths"]["/cloud/servers/{server_id}"]) == {"get", "delete"}
    assert "/cloud/jobs/{job_id}" in spec["paths"]
    create = spec["components"]["schemas"]["CreateServer"]
    assert set(create["required"]) == {"project_id", "name", "flavor_id", "image_id", "network_ids"}
    assert create["additionalProperties"] is False


async def test_answers_carry_exactly_the_documented_server_fields(service, api_client):
    setup = service(servers=2)
    client = await api_client(setup.settings)
    spec = await (await client.get("/cloud/openapi.json")).json()
    required = set(spec["components"]["schemas"]["Server"]["required"])

    servers = await (await client.get(f"/cloud/servers?project_id={setup.project_id}",
                                      headers=setup.headers())).json()

    assert all(set(s) == required for s in servers)


async def test_metrics_count_requests_by_route(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)
    await client.get(f"/cloud/flavors?project_id={setup.project_id}", headers=setup.headers())

    text = await (await client.get("/metrics")).text()

    assert 'http_requests_total{method="GET",route="/cloud/flavors",status="200"} 1.0' in text
