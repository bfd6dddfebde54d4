"""The configuration page says what the code does: every setting's variable, default and meaning
in docs/configuration.md are the ones declared on ``Settings``."""
import re

from app.process.settings import Settings, declared, default_text, variable
from devtools.docs import CONFIGURATION, configuration_table, with_table


def documented_defaults() -> dict[str, str]:
    rows = re.findall(r"^\| `([A-Z_]+)` \| `([^`]*)` \|", CONFIGURATION.read_text(), re.MULTILINE)
    return dict(rows)


def test_every_setting_is_documented_with_the_default_the_code_uses():
    from_code = {variable(entry): default_text(entry) for entry in declared()}

    assert documented_defaults() == from_code


def test_the_documented_table_is_the_generated_one():
    text = CONFIGURATION.read_text()

    assert with_table(text, configuration_table()) == text, "run `make docs`"


def test_a_default_read_from_the_environment_is_the_declared_one(tmp_path):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds: {}\n")
    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:1/0", "OS_CLIENT_CONFIG_FILE": str(clouds)})

    for entry in declared():
        if entry.name not in ("redis_url", "clouds_file"):
            assert getattr(settings, entry.name) == entry.default, entry.name
