"""The running API against its own OpenAPI document, with requests schemathesis generates."""
import sys
import time
import urllib.request
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.api.openapi import build_openapi
from devtools.localredis import free_port
from devtools.processes import start_logged, stop_process
from tests.openstack_helpers import EmulatedProject
from tests.service_helpers import service_environ, write_service_files

schema = schemathesis.openapi.from_dict(build_openapi())


@dataclass
class LiveApi:
    url: str
    token: str


@pytest.fixture(scope="module")
def live_api(emulator, redis_server, tmp_path_factory):
    directory = tmp_path_factory.mktemp("conformance")
    project = EmulatedProject(emulator, emulator.create_project(servers=2), directory / "own.yaml")
    clouds_file, tokens_file, tokens = write_service_files(directory, [project])
    port = free_port()
    environ = {**service_environ(redis_server.url, clouds_file, tokens_file), "PORT": str(port),
               "CREATE_WAIT": "0"}
    process = start_logged([sys.executable, "-m", "app"], directory / "api.log", environ)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/readyz", timeout=1).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "the API did not start"
            time.sleep(0.1)
    yield LiveApi(url, tokens["admin"])
    stop_process(process)
    project.close()


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_openapi_document(case, live_api):
    case.call_and_validate(base_url=live_api.url,
                           headers={"Authorization": f"Bearer {live_api.token}"})
