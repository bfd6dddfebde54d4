"""Clients generated from the served OpenAPI document by standard tools, used as they come:
``openapi-python-client --fail-on-warning`` against the running service, and
``datamodel-code-generator --strict-nullable`` models over a real answer with a volume-booted
server."""
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def document(live_api) -> Path:
    path = live_api.directory / "openapi.json"
    with urllib.request.urlopen(f"{live_api.url}/cloud/openapi.json", timeout=10) as response:
        path.write_bytes(response.read())
    return path


def generate(*args: str, cwd: Path) -> None:
    environ = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, env=environ)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


@pytest.fixture(scope="module")
def client_package(live_api):
    """The package openapi-python-client makes of the document, importable."""
    output = live_api.directory / "generated-client"
    generate(str(BIN / "openapi-python-client"), "generate", "--path", str(document(live_api)),
             "--fail-on-warning", "--output-path", str(output), cwd=live_api.directory)
    sys.path.insert(0, str(output))
    try:
        yield importlib.import_module("cloud_servers_api_client")
    finally:
        sys.path.remove(str(output))


def module(package, name: str):
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_lists_creates_shows_and_deletes_with_typed_problems(live_api, client_package):
    with client_package.AuthenticatedClient(base_url=live_api.url, token=live_api.token) as client:
        use_a_generated_client(live_api, client_package, client)


def use_a_generated_client(live_api, client_package, client):
    api, models = module(client_package, "api"), module(client_package, "models")
    servers_api = module(client_package, "api.servers")
    list_servers = module(servers_api, "list_servers")
    show_server = module(servers_api, "show_server")
    create_server = module(servers_api, "create_server")
    delete_server = module(servers_api, "delete_server")
    show_job = module(module(client_package, "api.jobs"), "show_job")
    images = module(module(client_package, "api.images"), "list_images").sync(client=client,
                                                                               project_id=live_api.project_id)
    networks = module(module(client_package, "api.networks"), "list_networks").sync(
        client=client, project_id=live_api.project_id)

    servers = list_servers.sync(client=client, project_id=live_api.project_id)
    volume_booted = next(s for s in servers if s.image is None)
    shown = show_server.sync(server_id=servers[0].id, client=client, project_id=live_api.project_id)
    body = models.CreateServer(project_id=live_api.project_id, name="generated", flavor_id="m1.small",
                               image_id=next(i.id for i in images if i.name.startswith("cirros")),
                               network_ids=[networks[0].id])
    created = create_server.sync(client=client, body=body)
    job = show_job.sync(job_id=created.job.id, client=client, project_id=live_api.project_id)
    refused = create_server.sync(client=client, body=models.CreateServer(
        project_id=live_api.project_id, name="generated", flavor_id="no-such-flavor",
        image_id=body.image_id, network_ids=body.network_ids))
    deleted = delete_server.sync_detailed(server_id=servers[0].id, client=client,
                                          project_id=live_api.project_id)

    assert api is not None and volume_booted.volumes_attached
    assert isinstance(servers[0], models.Server) and shown.id == servers[0].id
    assert isinstance(created, models.CreateAnswer) and job.id == created.job.id
    assert isinstance(refused, models.Problem) and refused.status == 422
    assert "flavor_id" in refused.errors.additional_properties
    assert deleted.status_code == 204


def test_strict_nullable_models_validate_a_real_list_with_a_volume_booted_server(live_api):
    models = live_api.directory / "models.py"
    generate(str(BIN / "datamodel-codegen"), "--input", str(document(live_api)), "--input-file-type",
             "openapi", "--strict-nullable", "--output-model-type", "pydantic_v2.BaseModel",
             "--formatters", "builtin", "--output", str(models), cwd=live_api.directory)
    spec = importlib.util.spec_from_file_location("generated_models", models)
    generated = importlib.util.module_from_spec(spec)
    sys.modules["generated_models"] = generated
    spec.loader.exec_module(generated)
    request = urllib.request.Request(f"{live_api.url}/cloud/servers?project_id={live_api.project_id}",
                                     headers={"Authorization": f"Bearer {live_api.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        listed = json.loads(response.read())

    try:
        servers = [generated.Server.model_validate(item) for item in listed]
    finally:
        del sys.modules["generated_models"]

    assert [s.image for s in servers if s.image is None]  # a volume-booted server validates
    assert all(s.id for s in servers)


def test_the_document_passes_openapi_spec_validator(live_api):
    generate(str(BIN / "openapi-spec-validator"), str(document(live_api)), cwd=live_api.directory)
