"""What ``make chaos`` does to the API: creates, deletes, lists and waits, as a client would."""
import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .chaos_stack import ChaosStack

TERMINAL = ("succeeded", "failed")


@dataclass
class Answer:
    """One answer: when it came, its status, headers and decoded body."""

    at: float
    status: int
    headers: dict[str, str]
    body: Any = field(repr=False)


class ChaosClient:
    """An API client for one stack; every answer is also kept in ``answers``."""

    def __init__(self, stack: ChaosStack, session: aiohttp.ClientSession) -> None:
        self._stack, self._session = stack, session
        self.answers: list[Answer] = []
        self._launch: dict[str, dict[str, Any]] = {}

    async def call(self, method: str, path: str, body: Any = None, **headers: str) -> Answer:
        """One request; a connection failure is answered as status 0."""
        try:
            async with self._session.request(
                    method, self._stack.url + path, json=body,
                    headers={"Authorization": f"Bearer {self._stack.token}", **headers},
                    timeout=aiohttp.ClientTimeout(total=15)) as response:
                text = await response.text()
                decoded = await response.json(content_type=None) if text else None
                answer = Answer(time.monotonic(), response.status, dict(response.headers), decoded)
        except (aiohttp.ClientError, TimeoutError):
            answer = Answer(time.monotonic(), 0, {}, None)
        self.answers.append(answer)
        return answer

    async def launch(self, project_id: str) -> dict[str, Any]:
        """A valid create body for the project (looked up once)."""
        if project_id not in self._launch:
            query = f"?project_id={project_id}"
            images = (await self.call("GET", "/cloud/images" + query)).body
            networks = (await self.call("GET", "/cloud/networks" + query)).body
            self._launch[project_id] = {
                "project_id": project_id, "flavor_id": "m1.tiny",
                "image_id": next(i["id"] for i in images if i["name"].startswith("cirros")),
                "network_ids": [next(n["id"] for n in networks if n["name"] == "private")]}
        return self._launch[project_id]

    async def create(self, project_id: str, name: str, key: str, tries: int = 20) -> Answer:
        """A keyed create, retried (same key) while the service answers 503 or not at all."""
        body = {**await self.launch(project_id), "name": name}
        return await self.retried("POST", "/cloud/servers", body, tries, **{"Idempotency-Key": key})

    async def act(self, project_id: str, server_id: str, action: str, key: str, tries: int = 20,
                  **arguments: str) -> Answer:
        """A keyed server action, retried (same key) while the service answers 503 or not at all."""
        return await self.retried("POST", f"/cloud/servers/{server_id}/actions?project_id={project_id}",
                                  {"action": action, **arguments}, tries, **{"Idempotency-Key": key})

    async def delete(self, project_id: str, server_id: str, tries: int = 20) -> Answer:
        """A delete, retried while the service answers 503 or not at all."""
        return await self.retried("DELETE", f"/cloud/servers/{server_id}?project_id={project_id}",
                                  None, tries)

    async def retried(self, method: str, path: str, body: Any, tries: int, **headers: str) -> Answer:
        """A request sent again every 0.5 s while the service answers 503 or not at all."""
        for _ in range(tries):
            answer = await self.call(method, path, body, **headers)
            if answer.status not in (0, 503):
                return answer
            await asyncio.sleep(0.5)
        return answer

    async def list_servers(self, project_id: str) -> Answer:
        """The project's server list."""
        return await self.call("GET", f"/cloud/servers?project_id={project_id}")

    async def finished(self, hrefs: list[str], timeout: float) -> dict[str, str]:
        """Each job's final status (or the last one seen when ``timeout`` runs out)."""
        statuses: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for href in hrefs:
                if statuses.get(href) not in TERMINAL:
                    answer = await self.call("GET", href)
                    ok = answer.status == 200
                    statuses[href] = answer.body["status"] if ok else f"HTTP {answer.status}"
            if all(status in TERMINAL for status in statuses.values()):
                break
            await asyncio.sleep(1)
        return statuses


def job_href(answer: Answer) -> str | None:
    """Where a 202 create or action, or a 204 delete, says its job is."""
    if answer.status == 202:
        return str(answer.headers["Location"])
    if answer.status == 204 and "Link" in answer.headers:
        return answer.headers["Link"].split(";")[0].strip("<>")
    return None
