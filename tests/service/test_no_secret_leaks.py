"""Proof that no secret leaks: a whole scenario at DEBUG, then every log line and every answer is
searched for every token, password and application-credential secret the test configured."""
import asyncio
import json
import time

import pytest
import yaml

from devtools.issuer_client import IssuerProcess
from tests.service.identity_helpers import AUDIENCE, bearer, tampered, write_access_file
from tests.service.test_malformed_http import exchange
from tests.service.webhook_helpers import subscribe, webhook_path
from tests.service.writing import create_body, finished_job, post_server
from tests.support import eventually


@pytest.fixture
def issuer(tmp_path):
    process = IssuerProcess(tmp_path / "issuer").start()
    yield process
    process.stop()


async def test_no_token_password_or_secret_reaches_a_log_or_an_answer(service, api_client,
                                                                     workers_running, service_log,
                                                                     receiver, issuer, tmp_path):
    access_file = write_access_file(tmp_path / "access.yaml", issuer.url,
                                    [{"subject": "leak-test", "projects": "*", "role": "editor"}])
    setup = service(projects=2, servers=1, access_file=access_file, oidc_allow_http="true")
    password_project, credential_project = setup.projects
    setup.settings.clouds_file.write_text(yaml.safe_dump({"clouds": {
        "by-password": password_project.access["cloud"],
        credential_project.id: credential_project.access["cloud_application_credential"]}}))
    secrets = [*setup.tokens.values(), password_project.access["password"],
               credential_project.access["application_credential_secret"],
               setup.settings.webhook_keys_file.read_text().strip()]
    service_log.configure("DEBUG")  # as the service configures itself, with LOG_LEVEL=DEBUG
    answers: list[str] = []
    deletes: list[str] = []  # the delete jobs, by href
    client = await api_client(setup.settings)

    async def keep(response) -> None:
        answers.append(f"{response.status} {dict(response.headers)} {await response.text()}")

    hooks = await receiver()
    webhook = await (await subscribe(client, setup, hooks.url)).json()
    rotated = await (await client.post(webhook_path(setup, webhook["id"], "/rotate-secret"),
                                       headers=setup.headers())).json()
    secrets += [webhook["secret"], rotated["secret"]]  # answered once each, then never again
    jwt = issuer.sign(sub="leak-test", aud=AUDIENCE)
    refused_jwts = [issuer.sign(sub="leak-test", aud=AUDIENCE, exp=int(time.time()) - 600),
                    issuer.sign(sub="leak-test", aud="another-api"), tampered(jwt, sub="root")]
    secrets += [jwt, *refused_jwts, *(token.split(".")[2] for token in (jwt, *refused_jwts))]
    async with workers_running(setup.settings):
        await keep(await client.post(webhook_path(setup, webhook["id"], "/ping"),
                                     headers=setup.headers()))
        for project in setup.projects:
            body = await create_body(client, setup, project_index=setup.projects.index(project))
            created = await post_server(client, setup, body, **{"Idempotency-Key": "leak-test"})
            await keep(created)
            answer = await created.json()
            await finished_job(client, setup, answer["job"]["href"])
            show = f"/cloud/servers/{answer['id']}?project_id={project.id}"
            await keep(await client.get(show, headers=setup.headers()))
            await keep(await client.get(f"/cloud/servers?project_id={project.id}",
                                        headers=setup.headers()))
            deleted = await client.delete(show, headers=setup.headers())
            await keep(deleted)
            deletes.append(deleted.headers["Link"].split(">")[0].lstrip("<"))
        for token in setup.tokens.values():
            for authorization in (f"Bearer {token}x", f"Basic {token}", token):
                await keep(await client.get(f"/cloud/servers?project_id={password_project.id}",
                                            headers={"Authorization": authorization}))
            await keep(await client.get(f"/cloud/servers?project_id={password_project.id}"
                                        f"&token={token}", headers=setup.headers()))
        by_jwt = await post_server(client, setup, await create_body(client, setup, name="by-jwt"),
                                   **bearer(jwt))
        await keep(by_jwt)
        job = await finished_job(client, setup, (await by_jwt.json())["job"]["href"])
        for token in (jwt, *refused_jwts):
            await keep(await client.get(f"/cloud/servers?project_id={password_project.id}",
                                        headers=bearer(token)))
        raw = (f"GET /cloud/servers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {setup.tokens['p0']}"
               "\x01\r\n\r\n").encode()
        answers.append((await exchange(client.server.port, raw)).decode("latin-1"))
        for href in deletes:  # the deletes reach Nova, and their jobs end
            await finished_job(client, setup, href)
        await eventually(lambda: asyncio.sleep(0, len(hooks.received) > 3))
        for path in (webhook_path(setup, webhook["id"]), f"/cloud/webhooks?project_id={setup.project_id}",
                     webhook_path(setup, webhook["id"], "/deliveries")):
            await keep(await client.get(path, headers=setup.headers()))

    await client.close()  # every buffered access line is written
    logged = service_log.text()
    lines = [json.loads(line) for line in logged.splitlines()]
    assert len(lines) > 20 and any(line["level"] == "DEBUG" for line in lines)  # the scenario was logged
    assert job["requested_by"] == f"leak-test ({issuer.url})" and job["status"] == "succeeded"
    # the access log names who, not how
    assert any(line.get("caller") == f"leak-test ({issuer.url})" for line in lines)
    for secret in secrets:
        assert secret not in logged
        assert not [answer for answer in answers if secret in answer]
