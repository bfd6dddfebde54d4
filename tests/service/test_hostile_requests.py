"""Hostile requests get a clear 4xx problem, and nothing of them reaches OpenStack."""
import json

import pytest

from app.api.json_body import MAX_DEPTH, check_structure
from app.core.errors import InvalidRequest
from app.openstack.gateway import _server_path
from tests.service.writing import create_body, post_server

SERVER_ID = "3f2b8a9c-6d1e-4f0a-9b7c-2e5d8f1a4c6b"
HOSTILE_SERVER_IDS = ["detail", "%2e%2e", f"{SERVER_ID}%2F..%2F..%2Fflavors%2Fdetail",
                      "x%3Fall_tenants%3D1", f" {SERVER_ID}", f"{{{SERVER_ID}}}",
                      f"urn:uuid:{SERVER_ID}", SERVER_ID.replace("3", "\uff13")]


@pytest.fixture
async def listed(listed_service):
    return listed_service


@pytest.mark.parametrize("server_id", HOSTILE_SERVER_IDS)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_a_malformed_server_id_is_404_and_never_reaches_nova(listed, method, server_id):
    setup, client, _ = listed
    emulator = setup.projects[0].emulator
    after = emulator.last_request_seq()

    response = await client.request(method, f"/cloud/servers/{server_id}?project_id={setup.project_id}",
                                    headers=setup.headers())
    body = await response.json(content_type="application/problem+json")

    assert response.status == 404 and body["status"] == 404  # the client may resolve "..": no route
    assert emulator.requests(project_id=setup.project_id, after=after) == [], emulator.requests(after=after)


@pytest.mark.parametrize("job_id", ["x", "..", "a" * 65, "job%3Fx%3D1"])
async def test_a_malformed_job_id_is_404(listed, job_id):
    setup, client, _ = listed

    response = await client.get(f"/cloud/jobs/{job_id}?project_id={setup.project_id}",
                                headers=setup.headers())

    assert response.status == 404


def test_the_gateway_sends_a_server_id_as_one_encoded_path_segment():
    assert _server_path("x?all_tenants=1") == "/servers/x%3Fall_tenants%3D1"
    assert _server_path("../flavors/detail") == "/servers/..%2Fflavors%2Fdetail"


@pytest.mark.parametrize("query", [
    "project_id=%EF%BC%90" + "0" * 31,  # a fullwidth zero
    "project_id=" + "\u0660".encode().hex() + "0" * 30,  # hex text, not an id
    "project_id=%D9%A0" + "0" * 31,  # an Arabic-Indic zero
    "project_id=%20{p}", "project_id={p}%0A", "project_id={p}%20",
    "project_id={p}&project_id={p}", "project_id={p}&project_id=00000000000040008000000000000000",
])
async def test_project_ids_are_ascii_uuids_given_once(listed, query):
    setup, client, _ = listed

    response = await client.get(f"/cloud/servers?{query.format(p=setup.project_id)}",
                                headers=setup.headers())
    body = await response.json(content_type="application/problem+json")

    assert response.status == 400 and "project_id" in body["errors"]


async def test_any_repeated_query_parameter_is_400(listed):
    setup, client, _ = listed

    response = await client.get(f"/cloud/servers?project_id={setup.project_id}&limit=1&limit=2",
                                headers=setup.headers())

    assert response.status == 400
    assert "limit" in (await response.json(content_type="application/problem+json"))["errors"]


@pytest.mark.parametrize(("nested", "bound"), [
    ("[" * 1000 + "]" * 1000, "deeper than"),
    ("[" * 100_000 + "]" * 100_000, "more than"),
])
async def test_deeply_nested_bodies_are_400(listed, nested, bound):
    setup, client, _ = listed
    body = json.dumps(await create_body(client, setup)).replace('"team"', f'"team": {nested}, "x"')

    response = await client.post("/cloud/servers", data=body, headers=setup.headers(
        **{"Content-Type": "application/json"}))
    problem = await response.json(content_type="application/problem+json")

    assert response.status == 400 and bound in problem["detail"]


async def test_deep_metadata_and_too_many_values_are_400(listed):
    setup, client, _ = listed
    deep = {"project_id": setup.project_id, "metadata": {"a": "x"}}
    text = json.dumps(deep).replace('"x"', "{\"a\": " * 5000 + "1" + "}" * 5000)
    many = json.dumps({"project_id": setup.project_id, "network_ids": ["n"] * 20_000})

    responses = [await client.post("/cloud/servers", data=data, headers=setup.headers(
        **{"Content-Type": "application/json"})) for data in (text, many)]

    assert [r.status for r in responses] == [400, 400]


def test_brackets_inside_strings_do_not_count_as_nesting():
    check_structure(json.dumps({"name": "[" * 1000, "metadata": {"k": "{" * 1000}}).encode())
    with pytest.raises(InvalidRequest):
        check_structure(("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode())


async def test_a_valid_create_still_passes_the_bounds(listed):
    setup, client, _ = listed

    response = await post_server(client, setup, await create_body(client, setup))

    assert response.status == 202
