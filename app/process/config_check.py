"""``cloud-servers-api check-config``: the settings, clouds.yaml and the tokens file, checked as
the service would read them, with one line per finding; fit for an init container."""
from collections.abc import Iterator
from pathlib import Path

from keystoneauth1.exceptions import ClientException
from openstack.exceptions import SDKException

from ..access.tokens import TokenFileError, parse_tokens
from ..openstack.clouds import CloudDirectory, CloudsFileError
from .composition import open_directory
from .settings import Settings, SettingsError

OK, WARNING, ERROR = "ok", "warning", "error"
Finding = tuple[str, str]


def check_config(environ: dict[str, str], authenticate: bool = False) -> list[Finding]:
    """Every finding, ``(level, message)``; any ``error`` means the service would not start or
    would refuse its callers."""
    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        return [(ERROR, f"settings: {error}")]
    findings: list[Finding] = [(OK, "settings")]
    try:
        directory = open_directory(settings)
    except (CloudsFileError, OSError) as error:
        return [*findings, (ERROR, f"clouds.yaml: {error}")]
    try:
        findings += _clouds(directory, authenticate)
        if settings.tokens_file is None:
            findings.append((WARNING, "API_TOKENS_FILE is not set: the API cannot serve (workers can)"))
        else:
            findings += _tokens(settings.tokens_file, set(directory.project_ids))
    finally:
        directory.close()
    return findings


def _clouds(directory: CloudDirectory, authenticate: bool) -> Iterator[Finding]:
    yield OK, f"clouds.yaml: {len(directory.project_ids)} projects"
    for project_id in directory.project_ids if authenticate else ():
        try:
            directory.connection(project_id).authorize()
        except (ClientException, SDKException, OSError) as error:
            yield ERROR, f"project {project_id}: Keystone refused or did not answer: {type(error).__name__}"
        else:
            yield OK, f"project {project_id}: authenticates"


def _tokens(path: Path, projects: set[str]) -> Iterator[Finding]:
    try:
        tokens = parse_tokens(path.read_text(), str(path))
    except (TokenFileError, OSError) as error:
        yield ERROR, f"tokens file: {error}"
        return
    yield OK, f"tokens file: {len(tokens)} tokens"
    names = [token.name for token in tokens]
    for name in sorted({name for name in names if names.count(name) > 1}):
        yield ERROR, f"tokens file: the name {name!r} is used more than once"
    for token in tokens:
        for project_id in sorted((token.projects or set()) - projects):
            yield WARNING, f"token {token.name!r}: project {project_id} has no credentials in clouds.yaml"
    if not tokens:
        yield WARNING, "tokens file: no token: every call will be refused (add one: tokens add)"
