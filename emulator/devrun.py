"""``make run``: Redis, the OpenStack emulator and (once they exist) the API and workers, on 127.0.0.1.

When everything answers it writes ``.run/env`` for people and scripts; Ctrl-C or SIGTERM stops
everything it started and removes that file.
"""
import json
import logging
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import yaml

from .client import EmulatorProcess
from .localredis import LocalRedis

logger = logging.getLogger("devrun")
RUN_DIR = Path(".run")
ENV_FILE = RUN_DIR / "env"
DEMO_PROJECTS, DEMO_SERVERS = 2, 3


def _project_ids(clouds_file: Path) -> list[str]:
    clouds = yaml.safe_load(clouds_file.read_text())["clouds"]
    return [entry["auth"]["project_id"] for entry in clouds.values()]


def _write_env(values: dict[str, str]) -> None:
    text = "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())
    partial = ENV_FILE.with_suffix(".partial")
    partial.write_text(text)
    os.replace(partial, ENV_FILE)


def _nova_curl(clouds_file: Path, base_url: str) -> str:
    """Shell lines that get a Keystone token for the first demo project and list its servers."""
    auth = next(iter(yaml.safe_load(clouds_file.read_text())["clouds"].values()))["auth"]
    body = json.dumps({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "domain": {"name": "Default"}, "password": auth["password"]}}},
        "scope": {"project": {"id": auth["project_id"]}}}})
    return (f"  TOKEN=$(curl -si {base_url}/v3/auth/tokens -H 'Content-Type: application/json' \\\n"
            f"      -d '{body}' | awk 'tolower($1)==\"x-subject-token:\" {{print $2}}' | tr -d '\\r')\n"
            f"  curl -s -H \"X-Auth-Token: $TOKEN\" {base_url}/compute/v2.1/servers/detail\n")


def _banner(env: dict[str, str], curl: str) -> str:
    settings = "".join(f"  {key}={value}\n" for key, value in env.items())
    return (f"\nDevelopment environment is up (everything on 127.0.0.1). Settings are in {ENV_FILE}:\n"
            f"{settings}\nThe emulated cloud, with curl (a Keystone token, then Nova):\n{curl}"
            "\nPress Ctrl-C to stop.\n")


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
    try:
        redis_url = os.environ.get("REDIS_URL") or redis.start().url
        client = emulator.start()
        first, second = _project_ids(clouds_file)[:2]
        env = {"EMULATOR_URL": client.auth_url, "OS_CLIENT_CONFIG_FILE": str(clouds_file),
               "REDIS_URL": redis_url, "PROJECT_ID": first, "OTHER_PROJECT_ID": second}
        _write_env(env)
        print(_banner(env, _nova_curl(clouds_file, client.base_url)), flush=True)
        while not stopping:
            if emulator.process is None or emulator.process.poll() is not None:
                logger.error("the emulator exited; see %s", RUN_DIR / "emulator.log")
                return 1
            time.sleep(0.2)
        return 0
    finally:
        ENV_FILE.unlink(missing_ok=True)
        emulator.stop()
        if redis is not None:
            redis.stop()
        logger.info("stopped")


if __name__ == "__main__":
    sys.exit(main())
