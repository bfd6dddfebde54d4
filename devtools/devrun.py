"""``make run``: Redis, the OpenStack emulator, a development JWT issuer, the API and the
workers, all on 127.0.0.1.

With ``OS_CLIENT_CONFIG_FILE`` set, no emulator starts: the service runs against the clouds of
that file (a real OpenStack), with tokens minted for the projects it names.

When everything answers it writes ``.run/env`` for people and scripts; Ctrl-C or SIGTERM stops
everything it started and removes that file.
"""
import hashlib
import json
import logging
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from app.core.project_ids import normalize_project_id

from .dev_webhooks import LOCAL_DELIVERY, write_webhook_keys
from .emulator_client import EmulatorProcess
from .issuer_client import IssuerProcess, write_access_file
from .localredis import LocalRedis, free_port
from .processes import start_logged, stop_process
from .receiver import PATH as RECEIVER_PATH
from .redis_sentinel import SentinelGroup

logger = logging.getLogger("devrun")
RUN_DIR = Path(".run")
ENV_FILE = RUN_DIR / "env"
DEMO_PROJECTS, DEMO_SERVERS = 2, 3
DEFAULT_PORT = 8080
RECEIVER_DESCRIPTION = "make run: the dev receiver (.run/receiver.log)"
RESTART_BACKOFF_MIN, RESTART_BACKOFF_MAX, RESTART_BACKOFF_RESET = 1.0, 30.0, 60.0
AUDIENCE, JWT_SUBJECT, JWT_LIFE = "cloud-servers-api", "make-run", 12 * 3600


def _project_ids(clouds_file: Path) -> list[str]:
    """The projects the clouds.yaml holds credentials for, in its order, as the service reads
    them: ``auth.project_id``, else an entry named after its project (application credentials)."""
    clouds = (yaml.safe_load(clouds_file.read_text()) or {}).get("clouds") or {}
    found = [normalize_project_id(str((entry.get("auth") or {}).get("project_id") or name))
             for name, entry in clouds.items()]
    return list(dict.fromkeys(project for project in found if project))


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


def _write_tokens(path: Path, first: str, second: str | None) -> dict[str, str]:
    """Tokens: one for the first project, one for the second (if there is one) and one for all;
    the file keeps only their digests."""
    scopes: dict[str, str | list[str]] = {"API_TOKEN": [first], "ADMIN_TOKEN": "*"}
    if second is not None:
        scopes["OTHER_TOKEN"] = [second]
    tokens = {name: secrets.token_urlsafe(24) for name in scopes}
    entries = [{"name": f"demo-{name.lower()}", "sha256": hashlib.sha256(value.encode()).hexdigest(),
                "projects": scopes[name]} for name, value in tokens.items()]
    path.write_text(yaml.safe_dump({"tokens": entries}))
    return tokens


def _trust_issuer(path: Path, issuer: IssuerProcess, project_id: str) -> str:
    """An access file trusting the development issuer, whose ``make-run`` subject is an editor on
    the demo project; a JWT of that subject, valid 12 h."""
    write_access_file(path, issuer.url, AUDIENCE,
                      [{"subject": JWT_SUBJECT, "projects": [project_id], "role": "editor"}])
    return issuer.sign(sub=JWT_SUBJECT, aud=AUDIENCE, exp=int(time.time()) + JWT_LIFE)


def _call(api_url: str, token: str, method: str, path: str, body: object = None) -> object:
    request = urllib.request.Request(f"{api_url}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text else None


def _subscribe_receiver(api_url: str, token: str, project_id: str, receiver_url: str) -> str:
    """Subscribe the dev receiver to every event of the demo project (replacing the one an
    earlier ``make run`` made); its secret."""
    query = f"?project_id={project_id}"
    existing = _call(api_url, token, "GET", f"/cloud/webhooks{query}")
    for webhook in existing if isinstance(existing, list) else []:
        if webhook["description"] == RECEIVER_DESCRIPTION:
            _call(api_url, token, "DELETE", f"/cloud/webhooks/{webhook['id']}{query}")
    answer = _call(api_url, token, "POST", "/cloud/webhooks", {
        "project_id": project_id, "url": receiver_url, "description": RECEIVER_DESCRIPTION,
        "events": ["server.created", "server.status_changed", "server.deleted", "job.succeeded",
                   "job.failed"]})
    assert isinstance(answer, dict)
    return str(answer["secret"])


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


class Supervised:
    """A child process restarted with backoff whenever it exits, as a supervisor would."""

    def __init__(self, name: str, args: list[str], log: Path, env: dict[str, str]) -> None:
        self.name, self._args, self._log, self._env = name, args, log, env
        self.process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._backoff = RESTART_BACKOFF_MIN
        self._restart_at: float | None = None

    def start(self) -> "Supervised":
        """Start the process."""
        self.process = start_logged(self._args, self._log, self._env)
        self._started_at, self._restart_at = time.monotonic(), None
        return self

    def keep_running(self) -> None:
        """Restart the process if it exited (1, 2, 4… s later; a long run resets the backoff)."""
        if self.process is None or self.process.poll() is None:
            return
        now = time.monotonic()
        if self._restart_at is None:
            if now - self._started_at > RESTART_BACKOFF_RESET:
                self._backoff = RESTART_BACKOFF_MIN
            self._restart_at = now + self._backoff
            logger.error("%s exited with status %s; restarting it in %.0f s (see %s)", self.name,
                         self.process.returncode, self._backoff, self._log)
            self._backoff = min(RESTART_BACKOFF_MAX, self._backoff * 2)
        elif now >= self._restart_at:
            self.start()
            logger.info("%s restarted (pid %s)", self.name, self.process.pid)

    def stop(self) -> None:
        """Stop the process for good."""
        stop_process(self.process, timeout=15)


def _banner(env: dict[str, str]) -> str:
    settings = "".join(f"  {key}={value}\n" for key, value in env.items())
    return (f"\nDevelopment environment is up (everything on 127.0.0.1). Settings are in {ENV_FILE}:\n"
            f"{settings}\nList the demo project's servers:\n"
            f"  curl -s -H 'Authorization: Bearer {env['API_TOKEN']}' \\\n"
            f"    '{env['API_URL']}/cloud/servers?project_id={env['PROJECT_ID']}'\n"
            f"\nOr, in a shell: . {ENV_FILE} && curl -s -H \"Authorization: Bearer $API_TOKEN\" "
            "\"$API_URL/cloud/servers?project_id=$PROJECT_ID\"\n"
            "($JWT_TOKEN works as well: a JWT of the development issuer, editor on $PROJECT_ID.)\n"
            f"\nThe demo project's events go to a webhook receiver that verifies and prints each: "
            f"tail -f {RUN_DIR}/receiver.log\n"
            f"Or watch them live: curl -N -H 'Authorization: Bearer {env['API_TOKEN']}' \\\n"
            f"    '{env['API_URL']}/cloud/events?project_id={env['PROJECT_ID']}'\n"
            + (f"\nRedis is a master, a replica and three sentinels: fail over by hand with "
               f"kill -9 {env['REDIS_MASTER_PID']} (the API is ready again within seconds).\n"
               if "REDIS_MASTER_PID" in env else "")
            + f"Logs: {RUN_DIR}/api.log, {RUN_DIR}/workers.log"
            f"{f', {RUN_DIR}/emulator.log' if 'EMULATOR_URL' in env else ''}. "
            "Press Ctrl-C to stop.\n")


def main() -> int:
    """Start everything, wait for a signal or a crash, stop everything."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    shutil.rmtree(RUN_DIR, ignore_errors=True)  # only this run's files: logs, credentials, data
    RUN_DIR.mkdir()
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    # An append-only file under .run/ keeps jobs and idempotency keys across Redis restarts.
    # REDIS_HA=1 (make run-ha): a master, a replica and three sentinels, for a failover by hand.
    high_availability = os.environ.get("REDIS_HA") == "1"
    redis: LocalRedis | SentinelGroup | None = None
    if not os.environ.get("REDIS_URL"):
        redis = SentinelGroup() if high_availability else LocalRedis(data_dir=RUN_DIR / "redis")
    real_cloud = os.environ.get("OS_CLIENT_CONFIG_FILE")  # a real OpenStack instead of the emulator
    clouds_file = Path(real_cloud).resolve() if real_cloud else (RUN_DIR / "clouds.yaml").resolve()
    emulator = None if real_cloud else EmulatorProcess(
        RUN_DIR, "--seed-projects", str(DEMO_PROJECTS), "--seed-servers", str(DEMO_SERVERS),
        "--clouds-yaml", str(clouds_file))
    issuer = IssuerProcess(RUN_DIR)
    children: dict[str, Supervised] = {}
    try:
        redis_url = os.environ.get("REDIS_URL") or redis.start().url
        auth_url = emulator.start().auth_url if emulator else None
        projects = _project_ids(clouds_file)
        if not projects:
            logger.error("%s names no project: each entry needs auth.project_id", clouds_file)
            return 1
        first, second = projects[0], (projects[1:] or [None])[0]
        tokens = _write_tokens((RUN_DIR / "tokens.yaml").resolve(), first, second)
        access_file = (RUN_DIR / "access.yaml").resolve()
        jwt_token = _trust_issuer(access_file, issuer.start(), first)
        port = _api_port()
        service_env = {"REDIS_URL": redis_url, "OS_CLIENT_CONFIG_FILE": str(clouds_file),
                       "API_TOKENS_FILE": str((RUN_DIR / "tokens.yaml").resolve()),
                       "ACCESS_FILE": str(access_file), "OIDC_ALLOW_HTTP": "true",
                       "LISTEN_HOST": "127.0.0.1", "PORT": str(port), "POLL_INTERVAL": "10",
                       "RESOURCES_INTERVAL": "15",  # a new boot volume is listed within seconds
                       # new each run, as is the run's Redis; http to 127.0.0.1 (the dev receiver)
                       "WEBHOOK_KEYS_FILE": str(write_webhook_keys(RUN_DIR / "webhook-keys")),
                       **LOCAL_DELIVERY,
                       "WORKER_METRICS_PORT": str(free_port())}
        for name, module in (("api", "app"), ("workers", "workers")):
            children[name] = Supervised(name, [sys.executable, "-m", module], RUN_DIR / f"{name}.log",
                                        service_env).start()
        api_url = f"http://127.0.0.1:{port}"
        _wait_ready(f"{api_url}/readyz", children["api"].process)
        receiver_port = free_port()
        secret = _subscribe_receiver(api_url, tokens["API_TOKEN"], first,
                                     f"http://127.0.0.1:{receiver_port}{RECEIVER_PATH}")
        children["receiver"] = Supervised(
            "receiver", [sys.executable, "-m", "devtools.receiver", "--port", str(receiver_port)],
            RUN_DIR / "receiver.log", {"WEBHOOK_SECRET": secret}).start()
        env = {"API_URL": api_url, "PROJECT_ID": first, "API_TOKEN": tokens["API_TOKEN"],
               **({"OTHER_PROJECT_ID": second, "OTHER_TOKEN": tokens["OTHER_TOKEN"]} if second else {}),
               "ADMIN_TOKEN": tokens["ADMIN_TOKEN"], "JWT_TOKEN": jwt_token, "OIDC_ISSUER": issuer.url,
               "ACCESS_FILE": str(access_file), **({"EMULATOR_URL": auth_url} if auth_url else {}),
               "OS_CLIENT_CONFIG_FILE": str(clouds_file), "REDIS_URL": redis_url,
               **({"REDIS_MASTER_PID": str(redis.master.pid)} if isinstance(redis, SentinelGroup) else {}),
               "WORKER_METRICS_URL": f"http://127.0.0.1:{service_env['WORKER_METRICS_PORT']}/metrics"}
        _write_env(env)
        print(_banner(env), flush=True)
        while not stopping:
            if emulator and (emulator.process is None or emulator.process.poll() is not None):
                logger.error("the emulator exited; see %s", RUN_DIR)
                return 1
            for child in children.values():
                child.keep_running()
            time.sleep(0.2)
        return 0
    finally:
        ENV_FILE.unlink(missing_ok=True)
        for child in children.values():
            child.stop()
        issuer.stop()
        if emulator:
            emulator.stop()
        if redis is not None:
            redis.stop()
        logger.info("stopped")


if __name__ == "__main__":
    sys.exit(main())
