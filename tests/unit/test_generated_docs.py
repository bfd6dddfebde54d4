"""The docs say what the code does: every setting's variable, default and meaning in
docs/configuration.md are the ones declared on ``Settings``, and the Redis keys in
docs/internals.md are the declared layout."""
import re

import pytest

from app.process.settings import Settings, declared, default_text, variable
from devtools.docs import CONFIGURATION, GENERATED


def documented_defaults() -> dict[str, str]:
    rows = re.findall(r"^\| `([A-Z_]+)` \| `([^`]*)` \|", CONFIGURATION.page.read_text(), re.MULTILINE)
    return dict(rows)


def test_every_setting_is_documented_with_the_default_the_code_uses():
    from_code = {variable(entry): default_text(entry) for entry in declared()}

    assert documented_defaults() == from_code


@pytest.mark.parametrize("generated", GENERATED, ids=lambda generated: generated.page.name)
def test_each_generated_table_is_as_generated_now(generated):
    text = generated.page.read_text()

    assert generated.applied(text) == text, "run `make docs`"


def test_a_default_read_from_the_environment_is_the_declared_one(tmp_path):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds: {}\n")
    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:1/0", "OS_CLIENT_CONFIG_FILE": str(clouds)})

    for entry in declared():
        if entry.name not in ("redis_url", "clouds_file"):
            assert getattr(settings, entry.name) == entry.default, entry.name
