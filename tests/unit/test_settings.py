"""Settings come from the environment, validated with messages an operator understands."""
import pytest

from app.process.config_check import ERROR, check_config
from app.process.settings import Settings, SettingsError
from app.webhooks.secret_box import generate_key


@pytest.fixture
def environ(tmp_path):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds: {}\n")
    return {"REDIS_URL": "redis://127.0.0.1:7000/0", "OS_CLIENT_CONFIG_FILE": str(clouds)}


def test_defaults(environ):
    settings = Settings.from_env(environ)

    assert (settings.port, settings.poll_interval, settings.snapshot_max_age) == (8080, 30.0, 300.0)
    assert settings.listen_host == "127.0.0.1" and settings.tokens_file is None


def test_overrides_are_typed(environ):
    settings = Settings.from_env({**environ, "PORT": "9000", "POLL_INTERVAL": "2.5",
                                  "LOG_LEVEL": "debug", "OPENSTACK_THREADS": "16"})

    assert (settings.port, settings.poll_interval, settings.log_level) == (9000, 2.5, "DEBUG")
    assert settings.openstack_threads == 16


@pytest.mark.parametrize("change, message", [
    ({"REDIS_URL": ""}, "REDIS_URL is required"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must start with"),
    ({"OS_CLIENT_CONFIG_FILE": "/nope/clouds.yaml"}, "no such file"),
    ({"PORT": "eighty"}, "PORT='eighty' is not a whole number"),
    ({"PORT": "70000"}, "out of range"),
    ({"POLL_INTERVAL": "-1"}, "must be a positive number"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"POLL_LEASE": "5", "OPENSTACK_TIMEOUT": "10"}, "POLL_LEASE must be longer"),
    ({"JOB_RETENTION": "3600"}, "JOB_RETENTION must be at least 86400"),
    ({"JOB_VISIBILITY_TIMEOUT": "20", "OPENSTACK_TIMEOUT": "30"}, "JOB_VISIBILITY_TIMEOUT must be"),
    ({"WEBHOOK_ALLOW_HTTP": "maybe"}, "WEBHOOK_ALLOW_HTTP='maybe' must be true or false"),
    ({"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32,not-a-net"}, "WEBHOOK_ALLOWED_NETWORKS: "),
    ({"WEBHOOK_RETRY_SCHEDULE": "0,5,soon"}, "WEBHOOK_RETRY_SCHEDULE='0,5,soon' must be seconds"),
    ({"WEBHOOK_RETRY_SCHEDULE": "0,-5"}, "must be finite and not negative"),
])
def test_bad_values_are_refused_with_the_variable_named(environ, change, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**environ, **change})


def test_the_redis_url_is_kept_out_of_repr(environ):
    assert "7000" not in repr(Settings.from_env(environ))


def test_webhook_settings_are_typed(environ, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text(f"# the newest first\n{generate_key()}\n\n{generate_key()}\n")

    settings = Settings.from_env({**environ, "WEBHOOK_KEYS_FILE": str(keys), "WEBHOOK_ALLOW_HTTP": "true",
                                  "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1, 10.0.0.0/8",
                                  "WEBHOOK_RETRY_SCHEDULE": "0,1.5,60"})

    assert settings.webhook_allow_http is True and settings.webhook_keys_file == keys
    assert settings.webhook_allowed_networks == ("127.0.0.1/32", "10.0.0.0/8")
    assert settings.webhook_retry_schedule == (0.0, 1.5, 60.0)
    assert Settings.from_env(environ).webhook_retry_schedule == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


@pytest.mark.parametrize("content, message", [("", "holds no key"), ("not-a-key\n", "not a Fernet key")])
def test_a_bad_webhook_keys_file_is_refused_at_start(environ, tmp_path, content, message):
    keys = tmp_path / "keys"
    keys.write_text(content)

    findings = check_config({**environ, "WEBHOOK_KEYS_FILE": str(keys)}, serves_api=False)

    assert [m for level, m in findings if level == ERROR and m.startswith("WEBHOOK_KEYS_FILE: ")
            and message in m]
