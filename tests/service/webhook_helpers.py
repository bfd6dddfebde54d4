"""A webhook receiver on 127.0.0.1 that answers as a test tells it, and subscribing to it."""
import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        import json
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each request with the next of ``answers`` (then 200); hangs while ``hanging``."""

    answers: list[int] = field(default_factory=list)
    hanging: bool = False
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), await request.read()))
        while self.hanging:
            await asyncio.sleep(0.05)
        return web.Response(status=self.answers.pop(0) if self.answers else 200)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        return app

    def events(self, *types: str) -> list[dict[str, Any]]:
        """The events received, in order (only of ``types`` if given)."""
        return [r.event for r in self.received if not types or r.event["type"] in types]


async def subscribe(client, setup, url: str, events=("server.created", "server.status_changed",
                    "server.deleted", "job.succeeded", "job.failed"), who: str = "admin",
                    project_index: int = 0, **extra: Any):
    """POST /cloud/webhooks; the answer."""
    return await client.post("/cloud/webhooks", headers=setup.headers(who), json={
        "project_id": setup.projects[project_index].id, "url": url, "events": list(events), **extra})


def webhook_path(setup, webhook_id: str, suffix: str = "", project_index: int = 0) -> str:
    """A subscription's URL (or one below it), with its project."""
    return f"/cloud/webhooks/{webhook_id}{suffix}?project_id={setup.projects[project_index].id}"
