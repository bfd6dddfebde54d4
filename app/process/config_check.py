"""The one check of a configuration: the settings and the files they name (clouds.yaml, the tokens
file, the access file, the webhook keys), as findings. Start-up refuses to run on any ``error``;
``cloud-servers-api check-config`` prints them all, one line each (fit for an init container)."""
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from keystoneauth1.exceptions import ClientException
from openstack.exceptions import SDKException

from ..access.access_file import AccessFileError, AccessPolicy, Issuer, parse_access_file
from ..access.tokens import TokenFileError, parse_tokens
from ..openstack.clouds import CloudDirectory, CloudsFileError
from ..webhooks.secret_box import SecretBox, SecretKeysError
from .composition import open_directory
from .settings import Settings, SettingsError

OK, WARNING, ERROR = "ok", "warning", "error"
Finding = tuple[str, str]
# How many signing keys an issuer serves now (fetching them); raises saying why it cannot.
KeyCount = Callable[[Issuer], int]


def check_config(environ: Mapping[str, str], serves_api: bool = True, authenticate: bool = False,
                 count_keys: KeyCount | None = None) -> list[Finding]:
    """Every finding, ``(level, message)``, for the environment; any ``error`` means the process
    would not start."""
    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        return [(ERROR, f"settings: {error}")]
    return [(OK, "settings"), *findings(settings, serves_api, authenticate, count_keys)]


def findings(settings: Settings, serves_api: bool, authenticate: bool = False,
             count_keys: KeyCount | None = None) -> Iterator[Finding]:
    """The files the settings name, checked as the process reads them (the tokens and access
    files only when it ``serves_api``; each project's Keystone, and each issuer's keys with
    ``count_keys``, when ``authenticate``)."""
    if settings.webhook_keys_file is not None:
        try:
            SecretBox.from_file(settings.webhook_keys_file)
        except SecretKeysError as error:
            yield ERROR, f"WEBHOOK_KEYS_FILE: {error}"
    try:
        directory = open_directory(settings)
    except (CloudsFileError, OSError) as error:
        yield ERROR, f"clouds.yaml: {error}"
        return
    try:
        yield from _clouds(directory, authenticate)
        if not serves_api:
            return  # the workers never read the tokens or access file
        if settings.tokens_file is None and settings.access_file is None:
            yield ERROR, "API_TOKENS_FILE or ACCESS_FILE is required to serve the API"
        if settings.tokens_file is not None:
            yield from _tokens(settings.tokens_file, set(directory.project_ids))
        if settings.access_file is not None:
            yield from _access(settings, set(directory.project_ids),
                               count_keys if authenticate else None)
    finally:
        directory.close()


def _clouds(directory: CloudDirectory, authenticate: bool) -> Iterator[Finding]:
    yield OK, f"clouds.yaml: {len(directory.project_ids)} projects"
    for project_id in directory.project_ids if authenticate else ():
        try:
            directory.connection(project_id).authorize()
        except (ClientException, SDKException, OSError) as error:
            yield ERROR, f"project {project_id}: Keystone refused or did not answer: {type(error).__name__}"
        else:
            yield OK, f"project {project_id}: authenticates"
    for region in directory.reader_regions:
        served = len(directory.projects_in(region))
        yield (OK if served else WARNING), (f"cloud-wide reader, region {region or '(default)'}: "
                                            f"serves {served} projects")
        if authenticate:
            try:
                directory.reader_connection(region).authorize()
            except (ClientException, SDKException, OSError) as error:
                yield ERROR, (f"cloud-wide reader, region {region or '(default)'}: Keystone refused or "
                              f"did not answer: {type(error).__name__}")


def _access(settings: Settings, projects: set[str], count_keys: KeyCount | None) -> Iterator[Finding]:
    path = settings.access_file
    assert path is not None
    try:
        policy: AccessPolicy = parse_access_file(path.read_text(), str(path), settings.oidc_allow_http)
    except (AccessFileError, OSError) as error:
        yield ERROR, f"access file: {error}"
        return
    yield OK, f"access file: {len(policy.issuers)} issuers, {len(policy.grants)} grants"
    for index, grant in enumerate(policy.grants):
        for project_id in sorted((grant.projects or set()) - projects):
            yield WARNING, f"grants[{index}]: project {project_id} has no credentials in clouds.yaml"
    for issuer in policy.issuers.values() if count_keys else ():
        assert count_keys is not None
        try:
            yield OK, f"issuer {issuer.issuer}: {count_keys(issuer)} signing keys"
        except Exception as error:  # whatever the fetch met, said in one line
            yield ERROR, f"issuer {issuer.issuer}: its keys cannot be fetched: {error}"


def _tokens(path: Path, projects: set[str]) -> Iterator[Finding]:
    try:
        tokens = parse_tokens(path.read_text(), str(path))
    except (TokenFileError, OSError) as error:
        yield ERROR, f"tokens file: {error}"
        return
    yield OK, f"tokens file: {len(tokens)} tokens"
    for token in tokens:
        for project_id in sorted((token.projects or set()) - projects):
            yield WARNING, f"token {token.name!r}: project {project_id} has no credentials in clouds.yaml"
    if not tokens:
        yield WARNING, "tokens file: no token: every call will be refused (add one: tokens add)"
