"""Helpers for tests of creates, deletes and jobs."""
from typing import Any

from tests.support import eventually


async def create_body(client, setup, project_index: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid create request for a project, built from what the API lists."""
    project = setup.projects[project_index]
    headers = setup.headers()
    networks = await (await client.get(f"/cloud/networks?project_id={project.id}", headers=headers)).json()
    images = await (await client.get(f"/cloud/images?project_id={project.id}", headers=headers)).json()
    body = {"project_id": project.id, "name": "web-01", "flavor_id": "m1.small",
            "image_id": next(i["id"] for i in images if i["name"].startswith("cirros")),
            "network_ids": [next(n["id"] for n in networks if n["name"] == "private")],
            "key_name": "my-keypair", "metadata": {"team": "search"}}
    body.update(overrides)
    return body


async def post_server(client, setup, body: dict[str, Any], **headers: str):
    """POST /cloud/servers as the admin caller."""
    return await client.post("/cloud/servers", json=body, headers=setup.headers(**headers))


async def job_of(client, setup, href: str) -> dict[str, Any]:
    """The job behind an href."""
    return await (await client.get(href, headers=setup.headers())).json()


async def finished_job(client, setup, href: str, timeout: float = 20.0) -> dict[str, Any]:
    """Wait until the job has succeeded or failed."""
    async def done():
        job = await job_of(client, setup, href)
        return job if job["status"] in ("succeeded", "failed") else None

    return await eventually(done, timeout=timeout)


def nova_servers_named(project, name: str) -> list:
    """The project's servers Nova holds under a name (straight from the emulator)."""
    return [s for s in project.conn.compute.servers() if s.name == name]
