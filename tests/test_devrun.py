"""``make run``'s launcher: everything comes up on loopback, .run/env works, SIGTERM stops it all."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import openstack
from openstack.config.loader import OpenStackConfig

from emulator.client import EmulatorClient


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def port_answers(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_make_run_starts_redis_and_the_emulator_then_stops_cleanly(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    process = subprocess.Popen([sys.executable, "-m", "emulator.devrun"], cwd=tmp_path,
                               env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    env_file = tmp_path / ".run" / "env"
    try:
        deadline = time.monotonic() + 60
        while not env_file.exists():
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "make run did not come up in 60 s"
            time.sleep(0.1)
        env = read_env(env_file)

        assert env["REDIS_URL"].startswith("redis://127.0.0.1:")
        assert env["EMULATOR_URL"].startswith("http://127.0.0.1:")
        assert len(env["PROJECT_ID"]) == 32 and env["PROJECT_ID"] != env["OTHER_PROJECT_ID"]
        EmulatorClient(env["EMULATOR_URL"].removesuffix("/v3")).call("GET", "/health")
        config = OpenStackConfig(config_files=[env["OS_CLIENT_CONFIG_FILE"]])
        conn = openstack.connection.Connection(config=config.get_one(cloud="demo-1"))
        try:
            servers = list(conn.compute.servers())
            images = list(conn.image.images())
        finally:
            conn.close()
        assert len(servers) == 3 and {s.status for s in servers} == {"ACTIVE"}
        assert all(s.project_id == env["PROJECT_ID"] for s in servers) and images
        assert port_answers(env["REDIS_URL"])
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()

    assert process.returncode == 0, output
    assert "curl" in output and "X-Auth-Token" in output
    assert not env_file.exists()
    assert not port_answers(env["REDIS_URL"]) and not port_answers(env["EMULATOR_URL"])
