"""The operator's commands: tokens add/list/revoke on the tokens file, and check-config."""
import os
import subprocess
import sys
from pathlib import Path

import yaml

from app.access.tokens import TokenRegistry
from devtools.emulator_client import CLOUD_READER, add_cloud_reader
from devtools.issuer_client import IssuerProcess
from tests.service.identity_helpers import write_access_file
from tests.support import write_service_files

PROJECT = "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d"
OTHER = "9a8b7c6d-5e4f-4031-8293-a4b5c6d7e8f9"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_a_token_is_shown_once_listed_without_it_and_revoked(tmp_path):
    tokens_file = tmp_path / "tokens.yaml"

    added = cli("tokens", "add", "--project", PROJECT, "--project", OTHER, "--name", "search",
                "--file", str(tokens_file))
    everything = cli("tokens", "add", "--all-projects", env={"API_TOKENS_FILE": str(tokens_file)})
    token = added.stdout.splitlines()[-1]
    registry = TokenRegistry(tokens_file)
    assert registry.authenticate(token).projects == {PROJECT, OTHER.replace("-", "")}
    assert registry.authenticate(everything.stdout.splitlines()[-1]).projects is None
    listed = cli("tokens", "list", "--file", str(tokens_file))
    twice = cli("tokens", "add", "--project", PROJECT, "--name", "search", "--file", str(tokens_file))
    revoked = cli("tokens", "revoke", "search", "--file", str(tokens_file))
    unknown = cli("tokens", "revoke", "search", "--file", str(tokens_file))

    assert added.returncode == 0 and everything.returncode == 0
    assert token not in tokens_file.read_text() and oct(tokens_file.stat().st_mode)[-3:] == "600"
    assert listed.returncode == 0 and token not in listed.stdout
    assert listed.stdout.splitlines()[0].startswith(f"search\t{PROJECT},")
    assert twice.returncode == 1 and "exists already" in twice.stderr
    assert revoked.returncode == 0 and unknown.returncode == 1
    assert [entry["name"] for entry in yaml.safe_load(tokens_file.read_text())["tokens"]] == [
        everything.stdout.split()[1].rstrip(";")]


def test_a_token_for_a_malformed_project_is_refused(tmp_path):
    answer = cli("tokens", "add", "--project", "not-a-project", "--file", str(tmp_path / "t.yaml"))

    assert answer.returncode == 1 and "UUID" in answer.stderr and not (tmp_path / "t.yaml").exists()


def service_env(directory, project, redis_url="redis://127.0.0.1:1/0") -> dict[str, str]:
    clouds_file, tokens_file, _ = write_service_files(directory, [project])
    return {"REDIS_URL": redis_url, "OS_CLIENT_CONFIG_FILE": str(clouds_file),
            "API_TOKENS_FILE": str(tokens_file)}


def test_check_config_passes_a_good_configuration_and_authenticates_each_project(project, tmp_path):
    answer = cli("check-config", "--authenticate", env=service_env(tmp_path, project))

    assert answer.returncode == 0, answer.stderr
    assert "ok: clouds.yaml: 1 projects" in answer.stdout
    assert f"ok: project {project.id}: authenticates" in answer.stdout
    assert "warning: token 'stranger'" in answer.stdout  # a token for a project with no credentials


def test_check_config_names_each_problem_and_fails(project, tmp_path):
    env = service_env(tmp_path, project)
    clouds = yaml.safe_load(Path(env["OS_CLIENT_CONFIG_FILE"]).read_text())
    (tmp_path / "dup.yaml").write_text(yaml.safe_dump({"clouds": {
        **clouds["clouds"], "again": next(iter(clouds["clouds"].values()))}}))
    (tmp_path / "bad-tokens.yaml").write_text("tokens:\n  - name: x\n    sha256: nope\n    projects: '*'\n")
    wrong_password = {**clouds["clouds"]}
    name = next(iter(wrong_password))
    wrong_password[name] = {**wrong_password[name], "auth": {**wrong_password[name]["auth"],
                                                               "password": "wrong"}}
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump({"clouds": wrong_password}))

    duplicate = cli("check-config", env={**env, "OS_CLIENT_CONFIG_FILE": str(tmp_path / "dup.yaml")})
    bad_tokens = cli("check-config", env={**env, "API_TOKENS_FILE": str(tmp_path / "bad-tokens.yaml")})
    refused = cli("check-config", "--authenticate",
                  env={**env, "OS_CLIENT_CONFIG_FILE": str(tmp_path / "wrong.yaml")})
    bad_setting = cli("check-config", env={**env, "POLL_INTERVAL": "soon"})

    assert duplicate.returncode == 1 and "both hold credentials" in duplicate.stderr
    assert bad_tokens.returncode == 1 and "'sha256' must be 64 hex digits" in bad_tokens.stderr
    assert refused.returncode == 1 and f"project {project.id}: Keystone refused" in refused.stderr
    assert "wrong" not in refused.stdout + refused.stderr
    assert bad_setting.returncode == 1 and "POLL_INTERVAL" in bad_setting.stderr


def test_check_config_authenticates_the_cloud_wide_reader_and_refuses_a_missing_one(project, emulator,
                                                                                  tmp_path):
    env = service_env(tmp_path, project)
    add_cloud_reader(Path(env["OS_CLIENT_CONFIG_FILE"]), emulator)

    present = cli("check-config", "--authenticate", env={**env, "CLOUD_READER": CLOUD_READER})
    missing = cli("check-config", env={**env, "CLOUD_READER": "no-such-entry"})

    assert present.returncode == 0, present.stderr
    assert "ok: clouds.yaml: 1 projects" in present.stdout  # the reader is no project's entry
    assert "ok: cloud-wide reader, region RegionOne: serves 1 projects" in present.stdout
    assert missing.returncode == 1 and "'no-such-entry', which CLOUD_READER names" in missing.stderr


def test_a_token_takes_a_role_which_the_list_shows(tmp_path):
    tokens_file = tmp_path / "tokens.yaml"

    added = cli("tokens", "add", "--all-projects", "--name", "dashboard", "--role", "reader",
                "--file", str(tokens_file))
    default = cli("tokens", "add", "--all-projects", "--name", "deployer", "--file", str(tokens_file))
    unknown = cli("tokens", "add", "--all-projects", "--role", "admin", "--file", str(tokens_file))
    listed = cli("tokens", "list", "--file", str(tokens_file)).stdout.splitlines()

    registry = TokenRegistry(tokens_file)
    dashboard = registry.authenticate(added.stdout.splitlines()[-1])
    deployer = registry.authenticate(default.stdout.splitlines()[-1])
    assert (dashboard.role, deployer.role) == ("reader", "editor")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
    assert [line.split("\t")[:3] for line in listed] == [["dashboard", "*", "reader"],
                                                         ["deployer", "*", "editor"]]


def test_check_config_checks_the_access_file_and_fetches_each_issuers_keys(project, tmp_path):
    issuer = IssuerProcess(tmp_path / "issuer").start()
    try:
        access_file = write_access_file(tmp_path / "access.yaml", issuer.url,
                                        [{"subject": "ci", "projects": [OTHER], "role": "reader"}])
        env = {**service_env(tmp_path, project), "ACCESS_FILE": str(access_file), "OIDC_ALLOW_HTTP": "true"}
        reachable = cli("check-config", "--authenticate", env=env)
        plain_http = cli("check-config", env={**env, "OIDC_ALLOW_HTTP": "false"})
        jwt_only = cli("check-config", env={**env, "API_TOKENS_FILE": ""})
    finally:
        issuer.stop()
    down = cli("check-config", "--authenticate", env=env)

    assert reachable.returncode == 0, reachable.stderr
    assert "ok: access file: 1 issuers, 1 grants" in reachable.stdout
    assert f"ok: issuer {issuer.url}: 2 signing keys" in reachable.stdout  # RSA and EC
    assert f"warning: grants[0]: project {OTHER.replace('-', '')} has no credentials" in reachable.stdout
    assert plain_http.returncode == 1 and "OIDC_ALLOW_HTTP" in plain_http.stderr
    assert jwt_only.returncode == 0, jwt_only.stderr  # a JWT-only API needs no tokens file
    assert down.returncode == 1 and f"error: issuer {issuer.url}: its keys cannot be fetched" in down.stderr
