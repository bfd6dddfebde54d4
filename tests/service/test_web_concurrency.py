"""``WEB_CONCURRENCY``: API processes sharing one port (``SO_REUSEPORT``), started and stopped
together; one that dies takes the group down, so that the pod restarts whole."""
import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from devtools.localredis import free_port
from devtools.processes import start_logged, stop_process
from tests.support import service_environ, write_service_files


def serving_pids(log: Path, port: int) -> set[int]:
    """The processes that logged listening on ``port``."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return {int(line["message"].rpartition("pid ")[2].rstrip(")")) for line in lines
            if line["message"].startswith(f"serving on 127.0.0.1:{port} (pid ")}


@pytest.fixture
def group(project, redis_server, tmp_path):
    """``python -m app`` with ``WEB_CONCURRENCY=2``, once both processes listen."""
    clouds_file, tokens_file, tokens = write_service_files(tmp_path, [project])
    port = free_port()
    log = tmp_path / "api.log"
    environ = {**os.environ, **service_environ(redis_server.url, clouds_file, tokens_file),
               "PORT": str(port), "WEB_CONCURRENCY": "2"}
    parent = start_logged([sys.executable, "-m", "app"], log, environ)
    deadline = time.monotonic() + 30
    while len(serving_pids(log, port)) < 2:
        assert parent.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)
    yield parent, serving_pids(log, port), f"http://127.0.0.1:{port}", tokens["admin"]
    stop_process(parent, timeout=15)


def test_two_processes_serve_one_port_and_stop_together_on_sigterm(group, project):
    parent, children, url, token = group
    request = urllib.request.Request(f"{url}/cloud/servers?project_id={project.id}",
                                     headers={"Authorization": f"Bearer {token}"})
    answers = []
    for _ in range(20):  # each on a connection of its own
        with urllib.request.urlopen(request, timeout=10) as answer:
            answers.append(answer.status)

    parent.send_signal(signal.SIGTERM)
    status = parent.wait(20)

    assert len(children) == 2 and parent.pid not in children
    assert answers == [200] * 20 and status == 0
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


def test_a_process_that_dies_stops_the_group(group):
    parent, children, _, _ = group
    os.kill(min(children), signal.SIGKILL)

    status = parent.wait(20)

    assert status == 1 and not [pid for pid in children if Path(f"/proc/{pid}").exists()]
