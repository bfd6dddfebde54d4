"""The running API against its own OpenAPI document: schemathesis's CLI with every check, every
phase (stateful too), and ``project_id`` pinned to a real project so requests get past the scope
check and reach the handlers. Bounded: a few examples per operation and a wall-clock limit."""
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.localredis import free_port
from devtools.processes import start_logged, stop_process
from tests.openstack_helpers import EmulatedProject
from tests.service_helpers import service_environ, write_service_files

RUN_LIMIT = 240  # seconds for the whole schemathesis run
# Schema-valid requests the service refuses by design, each documented: a well-formed marker that
# names no server of the list is a 400 (as in Nova), and a create naming a flavor, image, network
# or keypair the project does not have (or an image too big for the flavor) is a 422, and so is a
# webhook URL that is not https to a public address, or one past the project's limit.
_ACCEPTED = '"2XX", "3XX", "401", "403", "404", "409", "429", "5XX"'
SEMANTIC_REFUSALS = "".join(
    f'[[operations]]\ninclude-name = "{method} {path}"\n'
    f'[operations.checks.positive_data_acceptance]\nexpected-statuses = [{_ACCEPTED}, "{status}"]\n'
    for path, method, status in (("/cloud/servers", "GET", 400), ("/cloud/servers", "POST", 422),
                                 ("/cloud/webhooks", "POST", 422)))


@dataclass
class LiveApi:
    url: str
    token: str
    project_id: str
    directory: Path


@pytest.fixture(scope="module")
def live_api(emulator, redis_server, tmp_path_factory):
    directory = tmp_path_factory.mktemp("conformance")
    project = EmulatedProject(emulator, emulator.create_project(servers=2), directory / "own.yaml")
    clouds_file, tokens_file, tokens = write_service_files(directory, [project])
    port = free_port()
    environ = {**service_environ(redis_server.url, clouds_file, tokens_file), "PORT": str(port),
               "CREATE_WAIT": "0", "WRITES_PER_MINUTE": "100000", "LIVE_READS_PER_MINUTE": "100000"}
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
    yield LiveApi(url, tokens["admin"], project.id, directory)
    stop_process(process)
    project.close()


def test_every_answer_matches_the_openapi_document(live_api):
    config = live_api.directory / "schemathesis.toml"
    config.write_text(
        f'headers = {{ Authorization = "Bearer {live_api.token}" }}\n'
        f'[parameters]\n"query.project_id" = "{live_api.project_id}"\n'
        f'"body.project_id" = "{live_api.project_id}"\n'
        + SEMANTIC_REFUSALS)

    run = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run",
         f"{live_api.url}/cloud/openapi.json", "--checks", "all",
         "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "20", "--seed", "1",
         "--request-timeout", "10", "--no-color", "--suppress-health-check", "all",
         # an event stream never ends; tests/service/test_event_stream_api.py tests it
         "--exclude-path", "/cloud/events"],
        capture_output=True, text=True, timeout=RUN_LIMIT, cwd=live_api.directory)

    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
