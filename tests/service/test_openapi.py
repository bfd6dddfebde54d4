"""The OpenAPI document is generated from the schemas that shape the answers."""
from app.api.openapi import build_openapi
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
    assert set(spec["paths"]["/cloud/servers/{server_id}"]) == {"get", "delete", "patch"}
    assert spec["components"]["schemas"]["UpdateServer"]["additionalProperties"] is False
    assert set(spec["paths"]["/cloud/servers/{server_id}/console-log"]) == {"get"}
    assert set(spec["paths"]["/cloud/servers/{server_id}/remote-console"]) == {"post"}
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


async def test_every_operation_is_named_described_and_declares_its_headers_and_statuses(service, api_client):
    setup = service(servers=0)
    client = await api_client(setup.settings)

    spec = await (await client.get("/cloud/openapi.json")).json()

    operations = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids)) and spec["servers"] == [{"url": "/", "description": "this service"}]
    for path, method, op in operations:
        assert op["description"] and op["tags"], (method, path)
        assert "X-Request-Id" in {p.get("name") for p in op["parameters"]}, (method, path)
        assert {"405", "500"} <= set(op["responses"]), (method, path)
        assert "Allow" in op["responses"]["405"]["headers"]
        for status, answer in op["responses"].items():
            assert "X-Request-Id" in answer["headers"], (method, path, status)
            if status in ("429", "503"):
                assert "Retry-After" in answer["headers"], (method, path, status)
        for parameter in op["parameters"]:
            if parameter.get("in") == "path":
                assert parameter["schema"]["format"] == "uuid", (method, path)
    assert spec["paths"]["/cloud/servers"]["get"]["operationId"] == "listServers"
    list_parameters = {p["name"] for p in spec["paths"]["/cloud/flavors"]["get"]["parameters"]}
    assert "If-None-Match" in list_parameters


def test_answer_schemas_are_open_request_schemas_strict_and_shapes_generator_friendly():
    spec = build_openapi()
    schemas = spec["components"]["schemas"]

    assert schemas["CreateServer"]["additionalProperties"] is False
    assert "additionalProperties" not in schemas["Server"] and "additionalProperties" not in schemas["Job"]
    assert schemas["Server"]["properties"]["image"]["nullable"] is True
    assert schemas["Server"]["properties"]["image"]["allOf"] == [{"$ref": "#/components/schemas/IdReference"}]
    metadata = schemas["CreateServer"]["properties"]["metadata"]
    assert metadata["maxProperties"] == 100 and "maxLength" not in metadata
