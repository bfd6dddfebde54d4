"""Start-up: a configuration the service cannot use is one line on stderr and exit status 1,
before anything listens; settings may carry the CLOUD_SERVERS_ prefix."""
import json
import os
import re
import socket
import subprocess
import sys

import pytest

from app.process.config_check import ERROR, check_config
from app.process.settings import Settings, SettingsError
from app.process.startup import settings_and_logging
from devtools.localredis import free_port
from tests.support import write_service_files


def run(module: str, environ: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module], capture_output=True, text=True, timeout=60,
                          env={**{k: v for k, v in os.environ.items() if not k.startswith("CLOUD_SERVERS_")},
                               **environ})


@pytest.fixture
def files(project, tmp_path):
    clouds_file, tokens_file, _ = write_service_files(tmp_path, [project])
    return {"REDIS_URL": "redis://127.0.0.1:1/0", "OS_CLIENT_CONFIG_FILE": str(clouds_file),
            "API_TOKENS_FILE": str(tokens_file), "PORT": str(free_port())}


@pytest.mark.parametrize("module, change, message", [
    ("app", {"API_TOKENS_FILE": ""}, "API_TOKENS_FILE or ACCESS_FILE is required to serve the API"),
    ("app", {"API_TOKENS_FILE": "bad-tokens"}, "'sha256' must be 64 hex digits"),
    ("app", {"API_TOKENS_FILE": "twice-named-tokens"}, "the name 'x' is used more than once"),
    ("app", {"OS_CLIENT_CONFIG_FILE": "empty-clouds"}, "names no project"),
    ("workers", {"OS_CLIENT_CONFIG_FILE": "empty-clouds"}, "names no project"),
    ("app", {"SNAPSHOT_MAX_AGE": "nan"}, "SNAPSHOT_MAX_AGE"),
])
def test_an_unusable_configuration_is_one_line_and_exit_1_before_listening(files, tmp_path, module,
                                                                            change, message):
    (tmp_path / "bad-tokens").write_text("tokens:\n  - name: x\n    sha256: nope\n    projects: '*'\n")
    (tmp_path / "empty-clouds").write_text("clouds: {}\n")
    entry = f"  - name: x\n    sha256: {'a' * 64}\n    projects: '*'\n"
    (tmp_path / "twice-named-tokens").write_text(f"tokens:\n{entry}{entry}")
    environ = {**files, **{k: str(tmp_path / v) if v in ("bad-tokens", "empty-clouds", "twice-named-tokens")
                           else v
                           for k, v in change.items()}}

    result = run(module, environ)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert result.stderr.startswith("configuration error: ") and "serving on" not in result.stdout


def test_settings_take_the_cloud_servers_prefix_and_name_unknown_prefixed_ones(tmp_path):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds: {}\n")

    settings = Settings.from_env({"CLOUD_SERVERS_REDIS_URL": "redis://127.0.0.1:7000/0",
                                  "OS_CLIENT_CONFIG_FILE": str(clouds), "POLL_INTERVAL": "9",
                                  "CLOUD_SERVERS_POLL_INTERVAL": "2", "CLOUD_SERVERS_POLL_INTERVALL": "3"})

    assert settings.poll_interval == 2.0 and settings.redis_url == "redis://127.0.0.1:7000/0"
    assert settings.unknown_variables == ("CLOUD_SERVERS_POLL_INTERVALL",)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_not_a_number_and_infinity_are_refused(tmp_path, value):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds: {}\n")

    with pytest.raises(SettingsError, match="SNAPSHOT_MAX_AGE"):
        Settings.from_env({"REDIS_URL": "redis://127.0.0.1:7000/0", "OS_CLIENT_CONFIG_FILE": str(clouds),
                           "SNAPSHOT_MAX_AGE": value})
    with pytest.raises(SettingsError, match="WEBHOOK_RETRY_SCHEDULE"):
        Settings.from_env({"REDIS_URL": "redis://127.0.0.1:7000/0", "OS_CLIENT_CONFIG_FILE": str(clouds),
                           "WEBHOOK_RETRY_SCHEDULE": f"0,{value}"})


def test_unknown_prefixed_variables_are_warned_about_once_at_start(files, monkeypatch, service_log):
    for name, value in {**files, "CLOUD_SERVERS_POLL_INTERVALL": "3"}.items():
        monkeypatch.setenv(name, value)
    service_log.capture()

    settings = settings_and_logging(serves_api=True)
    warnings = [json.loads(line) for line in service_log.text().splitlines()]

    assert settings.unknown_variables == ("CLOUD_SERVERS_POLL_INTERVALL",)
    assert [(w["level"], "CLOUD_SERVERS_POLL_INTERVALL" in w["message"]) for w in warnings] == [
        ("WARNING", True)]


def test_a_worker_metrics_port_in_use_ends_the_workers_with_one_line(files):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run("workers", {**files, "WORKER_METRICS_PORT": str(taken.getsockname()[1])})

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("configuration error: WORKER_METRICS_PORT")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("serves_api", [True, False])
def test_start_up_refuses_exactly_what_check_config_calls_an_error(files, tmp_path, monkeypatch, service_log,
                                                                   serves_api):
    entry = f"  - name: x\n    sha256: {'a' * 64}\n    projects: '*'\n"
    (tmp_path / "twice").write_text(f"tokens:\n{entry}{entry}")
    for environ in ({**files, "API_TOKENS_FILE": str(tmp_path / "twice")}, {**files, "API_TOKENS_FILE": ""},
                    files):
        errors = [m for level, m in check_config(environ, serves_api=serves_api) if level == ERROR]
        assert serves_api or errors == []  # the workers never read the tokens file
        for name in files:
            monkeypatch.delenv(name, raising=False)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        if errors:
            with pytest.raises(SystemExit, match=re.escape(f"configuration error: {errors[0]}")):
                settings_and_logging(serves_api)
        else:
            assert settings_and_logging(serves_api).unknown_variables == ()
