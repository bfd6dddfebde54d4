"""A job's outcome is an event exactly once, however a poll races it."""
from app.events.stream import EventStream
from app.process.composition import build_services, open_gateway
from app.store import redis_layout as layout
from app.store.redis_layout import PollField
from tests.service.writing import create_body, post_server


class FirstPollRightAfterCreate:
    """The real gateway, except that the project's first poll runs the moment Nova accepts a create.

    That first poll is the project's silent baseline, and it already holds the new server.
    """

    def __init__(self, gateway, refresher) -> None:
        self._gateway = gateway
        self._refresher = refresher

    def __getattr__(self, name):
        return getattr(self._gateway, name)

    async def create_server(self, project_id, request):
        server_id = await self._gateway.create_server(project_id, request)
        await self._refresher.refresh(project_id)
        return server_id


async def test_a_create_is_announced_once_when_the_first_poll_saw_its_server_first(
        service, api_client, redis):
    setup = service(servers=1, create_wait=0)
    client = await api_client(setup.settings)
    answer = await (await post_server(client, setup, await create_body(client, setup))).json()
    gateway = open_gateway(setup.settings)
    try:
        real = build_services(setup.settings, redis, gateway)
        job = await real.jobs.get(setup.project_id, answer["job"]["id"])
        racing = build_services(setup.settings, redis,
                                FirstPollRightAfterCreate(gateway, real.refresher))

        finished = await racing.executor.run(job)
    finally:
        gateway.close()

    assert await redis.hget(layout.poll_state(setup.project_id), PollField.CYCLE) == b"1"  # the race happened
    created = [e for e in await EventStream(redis).read(setup.project_id) if e["type"] == "server.created"]
    assert finished.status == "succeeded"
    assert [(e["server_id"], e["data"]["job_id"]) for e in created] == [(finished.server_id, job.id)]
