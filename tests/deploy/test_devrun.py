"""``make run``'s launcher: everything comes up on loopback, the printed curl works, SIGTERM stops all."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import openstack
import yaml
from openstack.config.loader import OpenStackConfig

from devtools.localredis import free_port


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def page(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def port_answers(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
        return True
    except OSError:
        return False


def api_get(env: dict[str, str], token: str, path: str) -> tuple[int, object]:
    request = urllib.request.Request(env["API_URL"] + path,
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def api_post(env: dict[str, str], path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(env["API_URL"] + path, data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {env['API_TOKEN']}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def act_and_wait(env: dict[str, str], server_id: str, action: str) -> dict:
    """Stop or start the server through the API, as the README walk-through does, and wait for
    its job; the server then."""
    project, token = env["PROJECT_ID"], env["API_TOKEN"]
    status, answer = api_post(env, f"/cloud/servers/{server_id}/actions?project_id={project}",
                              {"action": action})
    assert status == 202
    deadline = time.monotonic() + 30
    while api_get(env, token, answer["job"]["href"])[1]["status"] != "succeeded":
        assert time.monotonic() < deadline, f"the {action} did not finish in 30 s"
        time.sleep(0.5)
    return api_get(env, token, f"/cloud/servers/{server_id}?project_id={project}")[1]


def ready(env: dict[str, str]) -> bool:
    try:
        page(env["API_URL"] + "/readyz")
        return True
    except urllib.error.HTTPError:
        return False


def create_and_wait(env: dict[str, str]) -> dict:
    """Create a server through the API and wait until it is ACTIVE (the workers run the job)."""
    project, token = env["PROJECT_ID"], env["API_TOKEN"]
    images = api_get(env, token, f"/cloud/images?project_id={project}")[1]
    networks = api_get(env, token, f"/cloud/networks?project_id={project}")[1]
    body = json.dumps({"project_id": project, "name": "from-make-run", "flavor_id": "m1.tiny",
                       "image_id": next(i["id"] for i in images if i["name"].startswith("cirros")),
                       "network_ids": [n["id"] for n in networks if n["name"] == "private"]})
    request = urllib.request.Request(env["API_URL"] + "/cloud/servers", data=body.encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        server_id = json.loads(response.read())["id"]
    deadline = time.monotonic() + 30
    while True:
        server = api_get(env, token, f"/cloud/servers/{server_id}?project_id={project}")[1]
        if server["status"] != "BUILD" or time.monotonic() > deadline:
            return server
        time.sleep(0.5)


def children_running(parent: int, module: str) -> list[int]:
    """Pids of ``python -m <module>`` processes whose parent is ``parent`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and command[1:3] == [b"-m", module.encode()]:
            found.append(int(entry.name))
    return found


def start_make_run(directory: Path, **overrides: str) -> tuple[subprocess.Popen, Path, dict[str, str], str]:
    """``make run`` in ``directory`` on a free port; the process, its env file, what that file
    holds, and the port asked for."""
    environ = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PORT")}
    environ.update(PORT=str(free_port()), **overrides)
    process = subprocess.Popen([sys.executable, "-m", "devtools.devrun"], cwd=directory,
                               env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    env_file = directory / ".run" / "env"
    deadline = time.monotonic() + 90
    while not env_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("make run did not come up in 90 s:\n" + process.communicate()[0].decode())
        time.sleep(0.1)
    return process, env_file, read_env(env_file), environ["PORT"]


def test_make_run_starts_everything_then_stops_cleanly(tmp_path):
    process, env_file, env, port = start_make_run(tmp_path)
    try:

        for key in ("API_URL", "EMULATOR_URL", "REDIS_URL", "OIDC_ISSUER"):
            assert "//127.0.0.1:" in env[key], key
        assert env["API_URL"].endswith(port)
        assert len(env["PROJECT_ID"]) == 32 and env["PROJECT_ID"] != env["OTHER_PROJECT_ID"]
        project = f"/cloud/servers?project_id={env['PROJECT_ID']}"
        status, servers = api_get(env, env["API_TOKEN"], project)
        assert status == 200 and len(servers) == 3 and {s["status"] for s in servers} == {"ACTIVE"}
        assert api_get(env, env["OTHER_TOKEN"], project)[0] == 403
        other_flavors = f"/cloud/flavors?project_id={env['OTHER_PROJECT_ID']}"
        by_jwt = api_get(env, env["JWT_TOKEN"], project)  # the development issuer's JWT
        assert by_jwt[0] == 200 and {s["id"] for s in by_jwt[1]} == {s["id"] for s in servers}
        assert api_get(env, env["JWT_TOKEN"], other_flavors)[0] == 403
        assert api_get(env, env["ADMIN_TOKEN"], other_flavors)[0] == 200
        created = create_and_wait(env)
        assert created["status"] == "ACTIVE" and created["name"] == "from-make-run"
        receiver_log, deadline = tmp_path / ".run" / "receiver.log", time.monotonic() + 20
        while not all(line in (receiver_log.read_text() if receiver_log.exists() else "") for line in (
                f"server {created['id']} ACTIVE", "verified job.succeeded")):
            assert time.monotonic() < deadline, "the dev receiver printed no verified delivery"
            time.sleep(0.2)
        assert "REJECTED" not in receiver_log.read_text()
        deadline = time.monotonic() + 10
        while b'jobs_finished_total{kind="create",status="succeeded"} 1.0' not in page(
                env["WORKER_METRICS_URL"]):
            assert time.monotonic() < deadline, "the workers' metrics do not count the create"
            time.sleep(0.2)
        stopped = act_and_wait(env, created["id"], "stop")
        assert (stopped["status"], stopped["power_state"]) == ("SHUTOFF", 4)
        started = act_and_wait(env, created["id"], "start")
        assert (started["status"], started["power_state"]) == ("ACTIVE", 1)
        config = OpenStackConfig(config_files=[env["OS_CLIENT_CONFIG_FILE"]])
        conn = openstack.connection.Connection(config=config.get_one(cloud="demo-1"))
        try:
            assert {s.id for s in conn.compute.servers()} == {s["id"] for s in servers} | {created["id"]}
        finally:
            conn.close()
        assert (tmp_path / ".run" / "redis" / "appendonly.aof").exists()  # Redis persists
        [worker] = children_running(process.pid, "workers")
        os.kill(worker, signal.SIGKILL)  # a crashed worker is restarted; the API stays up
        deadline = time.monotonic() + 20
        while not [pid for pid in children_running(process.pid, "workers") if pid != worker]:
            assert time.monotonic() < deadline, "the killed worker was not restarted"
            assert api_get(env, env["API_TOKEN"], project)[0] == 200
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()

    assert process.returncode == 0, output
    assert f"curl -s -H 'Authorization: Bearer {env['API_TOKEN']}'" in output
    assert not env_file.exists()
    assert "workers exited with status -9; restarting it" in output
    for key in ("REDIS_URL", "EMULATOR_URL", "API_URL", "OIDC_ISSUER"):
        assert not port_answers(env[key]), key


def test_make_run_with_a_clouds_file_runs_against_that_cloud(emulator, tmp_path):
    """A second emulator stands in for a real OpenStack: no emulator of make run's own starts,
    and tokens are minted for the projects the given clouds.yaml names."""
    access = emulator.create_project(servers=2)
    clouds_file = tmp_path / "real-clouds.yaml"
    clouds_file.write_text(yaml.safe_dump({"clouds": {"production": access["cloud"]}}))
    run_dir = tmp_path / "checkout"
    (run_dir / ".run").mkdir(parents=True)
    for stale in ("clouds.yaml", "emulator.log", "emulator.url"):  # an earlier run's, with the emulator
        (run_dir / ".run" / stale).write_text("from an earlier run\n")
    process, _, env, _ = start_make_run(run_dir, OS_CLIENT_CONFIG_FILE=str(clouds_file))
    try:
        status, servers = api_get(env, env["API_TOKEN"], f"/cloud/servers?project_id={access['project_id']}")
        emulators = children_running(process.pid, "emulator")
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()

    assert process.returncode == 0, output
    assert env["PROJECT_ID"] == access["project_id"] and env["OS_CLIENT_CONFIG_FILE"] == str(clouds_file)
    assert "EMULATOR_URL" not in env and "OTHER_TOKEN" not in env and emulators == []
    assert status == 200 and len(servers) == 2
    assert not [name for name in ("clouds.yaml", "emulator.log", "emulator.url")
                if (run_dir / ".run" / name).exists()]  # .run/ holds this run's files only
    assert "emulator.log" not in output


def test_make_run_ha_serves_through_sentinels_and_survives_killing_the_master(tmp_path):
    process, _, env, _ = start_make_run(tmp_path, REDIS_HA="1")
    project = f"/cloud/servers?project_id={env['PROJECT_ID']}"
    try:
        assert env["REDIS_URL"].startswith("redis+sentinel://127.0.0.1:")
        assert api_get(env, env["API_TOKEN"], project)[0] == 200
        os.kill(int(env["REDIS_MASTER_PID"]), signal.SIGKILL)  # as the banner says
        deadline = time.monotonic() + 5
        while ready(env):  # the master is gone: not ready until the sentinels promote the replica
            assert time.monotonic() < deadline, "the API stayed ready with its Redis master killed"
            time.sleep(0.05)
        deadline = time.monotonic() + 15
        while not ready(env):
            assert time.monotonic() < deadline, "the API was not ready again within 15 s of the failover"
            time.sleep(0.2)
        created = create_and_wait(env)  # once ready, no stale connection answers a 503
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()

    assert created["status"] == "ACTIVE"
    assert process.returncode == 0, output
    assert f"kill -9 {env['REDIS_MASTER_PID']}" in output
