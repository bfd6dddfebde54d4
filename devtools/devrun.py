"""``make run``: Redis, the OpenStack emulator, the API and the workers, all on 127.0.0.1.

When everything answers it writes ``.run/env`` for people and scripts; Ctrl-C or SIGTERM stops
everything it started and removes that file.
"""
import hashlib
import logging
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from .emulator_client import EmulatorProcess
from .localredis import LocalRedis, free_port
from .processes import start_logged, stop_process

logger = logging.getLogger("devrun")
RUN_DIR = Path(".run")
ENV_FILE = RUN_DIR / "env"
DEMO_PROJECTS, DEMO_SERVERS = 2, 3
DEFAULT_PORT = 8080


def _project_ids(clouds_file: Path) -> list[str]:
    clouds = yaml.safe_load(clouds_file.read_text())["clouds"]
    return [entry["auth"]["project_id"] for entry in clouds.values()]


def _api_port() -> int:
    """PORT if set; else 8080 unless something listens there; else any free port."""
    if os.environ.get("PORT"):
        return int(os.environ["PORT"])
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", DEFAULT_PORT))
            return DEFAULT_PORT
        except OSError:
            return free_port()


def _write_tokens(path: Path, first: str, second: str) -> dict[str, str]:
    """Demo tokens: one per demo project and one for all; the file keeps only their digests."""
    tokens = {name: secrets.token_urlsafe(24) for name in ("API_TOKEN", "OTHER_TOKEN", "ADMIN_TOKEN")}
    scopes = {"API_TOKEN": [first], "OTHER_TOKEN": [second], "ADMIN_TOKEN": "*"}
    entries = [{"name": f"demo-{name.lower()}", "sha256": hashlib.sha256(value.encode()).hexdigest(),
                "projects": scopes[name]} for name, value in tokens.items()]
    path.write_text(yaml.safe_dump({"tokens": entries}))
    return tokens


def _write_env(values: dict[str, str]) -> None:
    text = "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())
    partial = ENV_FILE.with_suffix(".partial")
    partial.write_text(text)
    os.replace(partial, ENV_FILE)


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not become ready; see {RUN_DIR}/api.log")
        time.sleep(0.2)


def _banner(env: dict[str, str]) -> str:
    settings = "".join(f"  {key}={value}\n" for key, value in env.items())
    return (f"\nDevelopment environment is up (everything on 127.0.0.1). Settings are in {ENV_FILE}:\n"
            f"{settings}\nList the demo project's servers:\n"
            f"  curl -s -H 'Authorization: Bearer {env['API_TOKEN']}' \\\n"
            f"    '{env['API_URL']}/cloud/servers?project_id={env['PROJECT_ID']}'\n"
            f"\nOr, in a shell: . {ENV_FILE} && curl -s -H \"Authorization: Bearer $API_TOKEN\" "
            "\"$API_URL/cloud/servers?project_id=$PROJECT_ID\"\n"
            f"Logs: {RUN_DIR}/api.log, {RUN_DIR}/workers.log, {RUN_DIR}/emulator.log. "
            "Press Ctrl-C to stop.\n")


def main() -> int:
    """Start everything, wait for a signal or a crash, stop everything."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    RUN_DIR.mkdir(exist_ok=True)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    redis = None if os.environ.get("REDIS_URL") else LocalRedis()
    clouds_file = (RUN_DIR / "clouds.yaml").resolve()
    emulator = EmulatorProcess(RUN_DIR, "--seed-projects", str(DEMO_PROJECTS),
                               "--seed-servers", str(DEMO_SERVERS), "--clouds-yaml", str(clouds_file))
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        redis_url = os.environ.get("REDIS_URL") or redis.start().url
        client = emulator.start()
        first, second = _project_ids(clouds_file)[:2]
        tokens = _write_tokens((RUN_DIR / "tokens.yaml").resolve(), first, second)
        port = _api_port()
        service_env = {"REDIS_URL": redis_url, "OS_CLIENT_CONFIG_FILE": str(clouds_file),
                       "API_TOKENS_FILE": str((RUN_DIR / "tokens.yaml").resolve()),
                       "LISTEN_HOST": "127.0.0.1", "PORT": str(port), "POLL_INTERVAL": "10"}
        children["api"] = start_logged([sys.executable, "-m", "app"], RUN_DIR / "api.log", service_env)
        children["workers"] = start_logged([sys.executable, "-m", "workers"],
                                           RUN_DIR / "workers.log", service_env)
        api_url = f"http://127.0.0.1:{port}"
        _wait_ready(f"{api_url}/readyz", children["api"])
        env = {"API_URL": api_url, "PROJECT_ID": first, "API_TOKEN": tokens["API_TOKEN"],
               "OTHER_PROJECT_ID": second, "OTHER_TOKEN": tokens["OTHER_TOKEN"],
               "ADMIN_TOKEN": tokens["ADMIN_TOKEN"], "EMULATOR_URL": client.auth_url,
               "OS_CLIENT_CONFIG_FILE": str(clouds_file), "REDIS_URL": redis_url}
        _write_env(env)
        print(_banner(env), flush=True)
        while not stopping:
            crashed = [name for name, child in {**children, "emulator": emulator.process}.items()
                       if child is None or child.poll() is not None]
            if crashed:
                logger.error("%s exited; see %s", ", ".join(crashed), RUN_DIR)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        ENV_FILE.unlink(missing_ok=True)
        for child in children.values():
            stop_process(child, timeout=15)
        emulator.stop()
        if redis is not None:
            redis.stop()
        logger.info("stopped")


if __name__ == "__main__":
    sys.exit(main())
