"""JWTs from a real issuer process (discovery, JWKS, RSA and EC keys): roles allowed and refused,
the union of grants, every way a token can be wrong, key rotation, forged-kid floods, the issuer
down, and the access file reloaded."""
import datetime
import ipaddress
import json
import logging
import time
import urllib.request

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devtools.issuer_client import IssuerProcess
from tests.service.identity_helpers import (
    AUDIENCE,
    bearer,
    signed_with_public_key,
    tampered,
    tampered_header,
    unsigned,
    write_access_file,
)
from tests.support import eventually


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    """The development issuer, shared by the tests that do not stop it."""
    process = IssuerProcess(tmp_path_factory.mktemp("issuer")).start()
    yield process
    process.stop()


@pytest.fixture
def with_access(service, api_client, tmp_path):
    """A service whose access file trusts ``issuer`` with ``grants`` (or the grants a function
    of the project ids makes), static tokens too."""
    async def make(issuer, grants, projects: int = 1, servers: int = 1, **issuer_fields):
        access_file = tmp_path / "access.yaml"
        write_access_file(access_file, issuer.url, [], **issuer_fields)
        setup = service(projects=projects, servers=servers, access_file=access_file,
                        oidc_allow_http="true")
        if callable(grants):
            grants = grants([project.id for project in setup.projects])
        write_access_file(access_file, issuer.url, grants, **issuer_fields)
        return setup, await api_client(setup.settings)

    return make


def servers_path(project_id: str, suffix: str = "") -> str:
    return f"/cloud/servers{suffix}?project_id={project_id}"


async def first_server(client, setup, project_index: int = 0) -> str:
    listed = await client.get(servers_path(setup.projects[project_index].id), headers=setup.headers())
    return (await listed.json())[0]["id"]


@pytest.mark.parametrize("role, allowed", [("reader", {"list"}), ("operator", {"list", "act"}),
                                           ("editor", {"list", "act", "create", "delete"})])
async def test_each_role_allows_its_requests_and_refuses_the_others(issuer, with_access, role, allowed):
    setup, client = await with_access(issuer, [{"subject": "ci", "projects": "*", "role": role}])
    headers = bearer(issuer.sign(sub="ci", aud=AUDIENCE))
    server_id = await first_server(client, setup)
    project = setup.project_id

    answers = {
        "list": await client.get(servers_path(project), headers=headers),
        "act": await client.post(servers_path(project, f"/{server_id}/actions"),
                                 json={"action": "reboot"}, headers=headers),
        # a body that is wrong in every way: the role is checked first
        "create": await client.post("/cloud/servers", json={"project_id": project, "name": ""},
                                    headers=headers),
        "delete": await client.delete(servers_path(project, f"/{server_id}"), headers=headers),
    }

    statuses = {name: answer.status for name, answer in answers.items()}
    assert {name for name, status in statuses.items() if status != 403} == allowed, statuses
    assert statuses["list"] == 200 and statuses["create"] in (403, 422)
    for name in set(answers) - allowed:
        problem = await answers[name].json()
        assert f"'{role}'" in problem["detail"] and "needs the" in problem["detail"]


async def test_a_token_gets_the_union_of_the_grants_it_matches(issuer, with_access):
    setup, client = await with_access(issuer, lambda projects: [
        {"subject": "ci", "projects": [projects[0]], "role": "reader"},
        {"claims": {"groups": "ops"}, "projects": [projects[0]], "role": "operator"},
        {"subject": "ci", "projects": "*", "role": "reader"},
        {"subject": "someone-else", "projects": "*", "role": "editor"}], projects=2)
    first, second = (project.id for project in setup.projects)
    headers = bearer(issuer.sign(sub="ci", aud=AUDIENCE, groups=["dev", "ops"]))

    acted = await client.post(servers_path(first, f"/{await first_server(client, setup, 0)}/actions"),
                              json={"action": "reboot"}, headers=headers)
    second_server = await first_server(client, setup, 1)
    refused = await client.post(servers_path(second, f"/{second_server}/actions"),
                                json={"action": "reboot"}, headers=headers)
    read = await client.get(servers_path(second), headers=headers)
    stranger = await client.get(servers_path(first), headers=bearer(issuer.sign(sub="nobody", aud=AUDIENCE)))

    assert acted.status == 202  # operator on the first project, from the claims grant
    assert refused.status == 403 and read.status == 200  # reader elsewhere, from the "*" grant
    assert stranger.status == 403  # verified, but no grant matches


def _public_pem(issuer) -> bytes:
    with urllib.request.urlopen(f"{issuer.url}/jwks", timeout=5) as response:
        keys = json.loads(response.read())["keys"]
    rsa = jwt.algorithms.RSAAlgorithm.from_jwk(next(k for k in keys if k["kty"] == "RSA"))
    return rsa.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


async def test_every_wrong_token_is_a_401(issuer, with_access):
    setup, client = await with_access(issuer, [{"subject": "ci", "projects": "*", "role": "editor"}])
    now = int(time.time())
    good = issuer.sign(sub="ci", aud=AUDIENCE)
    wrong = {
        "expired": issuer.sign(sub="ci", aud=AUDIENCE, exp=now - 120),
        "not yet valid": issuer.sign(sub="ci", aud=AUDIENCE, nbf=now + 300),
        "wrong audience": issuer.sign(sub="ci", aud="another-api"),
        "wrong issuer": issuer.sign(sub="ci", aud=AUDIENCE, iss="http://127.0.0.1:9/"),
        "tampered": tampered(good, sub="root"),
        "alg none": unsigned(good),
        "HS256 with the public key": signed_with_public_key(good, _public_pem(issuer)),
        "no subject": issuer.sign(aud=AUDIENCE),
        "not a JWT": "a.b.c",
        "a key id that is no string": tampered_header(good, kid={"x": 1}),
    }

    statuses = {name: (await client.get(servers_path(setup.project_id), headers=bearer(token))).status
                for name, token in wrong.items()}
    within_leeway = issuer.sign(sub="ci", aud=AUDIENCE, exp=now - 30, alg="ES256")

    assert statuses == dict.fromkeys(wrong, 401)
    assert (await client.get(servers_path(setup.project_id), headers=bearer(good))).status == 200
    assert (await client.get(servers_path(setup.project_id), headers=bearer(within_leeway))).status == 200


async def test_a_rotated_key_is_accepted_after_one_fetch_and_forged_kids_cost_one(issuer, with_access):
    setup, client = await with_access(issuer, [{"subject": "ci", "projects": "*", "role": "reader"}])
    path = servers_path(setup.project_id)
    assert (await client.get(path, headers=bearer(issuer.sign(sub="ci", aud=AUDIENCE)))).status == 200
    before = issuer.stats()["jwks"]

    issuer.rotate("RS256")
    rotated = await client.get(path, headers=bearer(issuer.sign(sub="ci", aud=AUDIENCE)))
    after_rotation = issuer.stats()["jwks"]
    signed = issuer.sign(sub="ci", aud=AUDIENCE)
    forged = [await client.get(path, headers=bearer(tampered_header(signed, kid=f"forged-{n}")))
              for n in range(50)]

    assert rotated.status == 200 and after_rotation == before + 1
    assert {answer.status for answer in forged} == {401}
    assert issuer.stats()["jwks"] == after_rotation  # the refetch of the rotation counts for 30 s


async def test_a_thousand_requests_with_one_jwt_fetch_the_keys_once(issuer, with_access):
    setup, client = await with_access(issuer, [{"subject": "ci", "projects": "*", "role": "reader"}])
    headers = bearer(issuer.sign(sub="ci", aud=AUDIENCE, alg="ES256"))
    path = servers_path(setup.project_id)
    assert (await client.get(path, headers=headers)).status == 200
    before = issuer.stats()

    statuses = {(await client.get(path, headers=headers)).status for _ in range(1000)}

    assert statuses == {200} and issuer.stats() == before


async def test_cached_keys_outlive_the_issuer_and_an_issuer_down_at_start_is_not_ready(
        with_access, tmp_path, caplog):
    issuer = IssuerProcess(tmp_path / "issuer").start()
    setup, client = await with_access(issuer, [{"subject": "ci", "projects": "*", "role": "reader"}])
    token = issuer.sign(sub="ci", aud=AUDIENCE)
    path = servers_path(setup.project_id)
    assert (await client.get(path, headers=bearer(token))).status == 200
    issuer.stop()
    caplog.clear()

    after_stop = await client.get(path, headers=bearer(token))
    unknown_kid = [await client.get(path, headers=bearer(tampered_header(token, kid=f"k{n}")))
                   for n in range(3)]
    ready = await client.get("/readyz")

    assert after_stop.status == 200 and ready.status == 200  # the cached keys stay in force
    assert {answer.status for answer in unknown_kid} == {401}
    assert len([r for r in caplog.records if "cannot fetch the keys" in r.getMessage()]) == 1
    down_at_start, down_client = await with_access(
        issuer, [{"subject": "ci", "projects": "*", "role": "reader"}])  # nobody listens there now
    not_ready = await eventually(lambda: _unready(down_client), timeout=5)
    down_path = servers_path(down_at_start.project_id)
    static = await down_client.get(down_path, headers=down_at_start.headers())
    jwt_refused = await down_client.get(down_path, headers=bearer(token))

    assert "no keys fetched yet" in not_ready and static.status == 200 and jwt_refused.status == 401
    assert token not in caplog.text


async def _unready(client) -> str | None:
    answer = await client.get("/readyz")
    return (await answer.json())["reason"] if answer.status == 503 else None


async def test_a_bad_access_file_reload_keeps_the_last_good_one_and_says_so_once(
        issuer, with_access, caplog):
    setup, client = await with_access(issuer, [{"subject": "ci", "projects": "*", "role": "reader"}])
    headers, path = bearer(issuer.sign(sub="ci", aud=AUDIENCE)), servers_path(setup.project_id)
    caplog.set_level(logging.INFO)
    setup.settings.access_file.write_text(
        setup.settings.access_file.read_text().replace("role: reader", "role: admin"))

    def refusals():
        return [r for r in caplog.records if "keeping the previous access file" in r.getMessage()]

    async def refused():
        await client.get(path, headers=headers)  # the file is looked at when it is used
        return refusals()

    await eventually(refused, timeout=5)
    answers = [await client.get(path, headers=headers) for _ in range(3)]
    time_for_another_look = time.monotonic() + 2.5
    while time.monotonic() < time_for_another_look:  # more looks at the same broken file
        await client.get(path, headers=headers)

    assert {answer.status for answer in answers} == {200}  # the last good file is in force
    assert len(refusals()) == 1 and "'role' must be one of" in refusals()[0].getMessage()


def self_signed_certificate(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that is its own CA (a private CA, as a cluster's), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "development issuer")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(
                       "127.0.0.1"))]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "issuer.pem", directory / "issuer-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


async def test_an_issuer_behind_a_private_ca_gives_its_keys_for_the_rotated_bearer_file(
        with_access, tmp_path):
    """As the Kubernetes API server: https under the cluster's CA (``ca_file``), a JWKS only for a
    service-account token (``token_file``), which the kubelet rewrites."""
    cert_file, key_file = self_signed_certificate(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_text("pod-token-1\n")
    issuer = IssuerProcess(tmp_path / "cluster-issuer", "--tls-cert", cert_file, "--tls-key", key_file,
                           "--jwks-bearer-file", str(token_file), ca_file=cert_file).start()
    try:
        setup, client = await with_access(
            issuer, [{"subject": "system:serviceaccount:team-a:deployer", "projects": "*", "role": "reader"}],
            ca_file=cert_file, token_file=str(token_file))
        path = servers_path(setup.project_id)
        first = await client.get(path, headers=bearer(issuer.sign(
            sub="system:serviceaccount:team-a:deployer", aud=AUDIENCE)))
        token_file.write_text("pod-token-2, rotated by the kubelet\n")
        issuer.rotate("RS256")
        after_rotation = await client.get(path, headers=bearer(issuer.sign(
            sub="system:serviceaccount:team-a:deployer", aud=AUDIENCE)))
        stats = issuer.stats()
    finally:
        issuer.stop()

    assert issuer.url.startswith("https://") and first.status == 200 and after_rotation.status == 200
    assert stats["jwks"] == 2 and stats["refused"] == 0
