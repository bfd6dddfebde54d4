"""The access file: what it trusts, what it grants, and every way it is refused whole."""
import pytest
import yaml

from app.access.access_file import AccessFileError, parse_access_file

ISSUER = "https://idp.example.com"
PROJECT, OTHER = "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d", "0" * 32


def document(issuer=None, grants=None) -> str:
    return yaml.safe_dump({
        "issuers": [{"issuer": ISSUER, "audience": "cloud-servers-api", **(issuer or {})}],
        "grants": grants if grants is not None else [
            {"issuer": ISSUER, "subject": "deployer", "projects": [PROJECT], "role": "reader"}]})


def test_a_token_gets_per_project_the_highest_role_of_the_grants_it_matches():
    policy = parse_access_file(document(grants=[
        {"issuer": ISSUER, "subject": "deployer", "projects": [PROJECT], "role": "reader"},
        {"issuer": ISSUER, "claims": {"groups": "ops"}, "projects": [PROJECT], "role": "editor"},
        {"issuer": ISSUER, "subject": "deployer", "claims": {"team": "a"}, "projects": "*",
         "role": "operator"}]))

    ops = policy.caller({"iss": ISSUER, "sub": "deployer", "groups": ["dev", "ops"]})
    team_a = policy.caller({"iss": ISSUER, "sub": "deployer", "team": "a"})
    team_b = policy.caller({"iss": ISSUER, "sub": "deployer", "team": "b", "groups": "ops"})
    stranger = policy.caller({"iss": ISSUER, "sub": "someone", "team": "a"})

    assert (ops.role_on(PROJECT), ops.role_on(OTHER)) == ("editor", None)
    assert (team_a.role_on(PROJECT), team_a.role_on(OTHER)) == ("operator", "operator")
    assert (team_b.role_on(PROJECT), team_b.role_on(OTHER)) == ("editor", None)
    assert (stranger.role_on(PROJECT), stranger.role_on(OTHER)) == (None, None)
    assert ops.name == f"deployer ({ISSUER})"
    assert parse_access_file(document()).issuers[ISSUER].algorithms == ("RS256", "ES256")


@pytest.mark.parametrize("issuer, grants, message", [
    ({"audience": ""}, None, "'audience' is required"),
    ({"algorithms": ["HS256"]}, None, "never none or HS"),
    ({"algorithms": ["none"]}, None, "never none or HS"),
    ({"issuer": "http://idp.example.com"}, [], "OIDC_ALLOW_HTTP"),
    ({"jwks_uri": "http://idp.example.com/jwks"}, None, "OIDC_ALLOW_HTTP"),
    ({"ca_file": "/nonexistent/ca.pem"}, None, "not a readable file"),
    ({"scopes": ["x"]}, None, "unknown keys"),
    (None, [{"issuer": ISSUER, "subject": "x", "projects": "*", "role": "admin"}], "'role' must be one of"),
    (None, [{"issuer": "https://other", "subject": "x", "projects": "*", "role": "reader"}],
     "issuers listed"),
    (None, [{"issuer": ISSUER, "projects": "*", "role": "reader"}], "'subject', 'claims' or both"),
    (None, [{"issuer": ISSUER, "subject": "x", "projects": ["prod"], "role": "reader"}], "UUID"),
    (None, [{"issuer": ISSUER, "claims": {"groups": ["a", "b"]}, "projects": "*", "role": "reader"}],
     "single values"),
])
def test_anything_invalid_refuses_the_whole_file_saying_where(issuer, grants, message):
    with pytest.raises(AccessFileError, match=message):
        parse_access_file(document(issuer, grants))


def test_http_issuers_are_accepted_only_when_allowed():
    text = document({"issuer": "http://127.0.0.1:8999"}, [])

    assert list(parse_access_file(text, allow_http=True).issuers) == ["http://127.0.0.1:8999"]
    with pytest.raises(AccessFileError):
        parse_access_file(text)
