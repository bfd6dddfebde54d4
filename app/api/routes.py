"""The route table: each operation's method, path, handler, operation id and OpenAPI description,
written once. The router and the OpenAPI document are both built from it."""
import dataclasses
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..access.roles import EDITOR, OPERATOR, READER
from . import operation_docs as docs
from .handlers import (
    event_stream,
    job_status,
    operations,
    server_actions,
    server_consoles,
    server_reads,
    server_writes,
    volume_reads,
    volume_writes,
    webhook_subscriptions,
)
from .handlers.resource_lists import resource_list_handler

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True)
class Route:
    """One operation: where it is served, who answers it, and what OpenAPI says of it."""

    method: str
    path: str
    handler: Handler
    operation_id: str
    operation: docs.Operation  # summary, tags, parameters, request body and answers
    role: str | None = None  # the role a caller needs on the project (None: no token needed)

    @property
    def description(self) -> str:
        """The operation's description: its handler's docstring, else its summary."""
        return " ".join((self.handler.__doc__ or "").split()) or str(self.operation["summary"])


# (URL path segment, snapshot kind, schema, operation id) of each supporting resource list
_RESOURCE_LISTS = (("flavors", "flavors", "Flavor", "listFlavors"),
                   ("images", "images", "Image", "listImages"),
                   ("networks", "networks", "Network", "listNetworks"),
                   ("ssh-keypairs", "keypairs", "Keypair", "listSshKeypairs"),
                   ("security-groups", "security_groups", "SecurityGroup", "listSecurityGroups"),
                   ("volumes", "volumes", "Volume", "listVolumes"))
_WEBHOOK = "/cloud/webhooks/{webhook_id}"


def routes() -> tuple[Route, ...]:
    """Every operation the API serves."""
    subscriptions = webhook_subscriptions
    return (
        Route("get", "/healthz", operations.healthz, "healthz", docs.probe("Liveness")),
        Route("get", "/readyz", operations.readyz, "readyz", docs.readiness()),
        Route("get", "/metrics", operations.metrics, "metrics",
              docs.probe("Prometheus metrics", {"text/plain": {"schema": {"type": "string"}}})),
        Route("get", "/cloud/openapi.json", operations.openapi, "openapi",
              docs.probe("This document", {"application/json": {"schema": {"type": "object"}}})),
        Route("get", "/cloud/servers", server_reads.list_servers, "listServers", docs.list_servers(),
              READER),
        Route("post", "/cloud/servers", server_writes.create_server, "createServer",
              docs.create_server(), EDITOR),
        Route("get", "/cloud/servers/{server_id}", server_reads.show_server, "showServer",
              docs.show_server(), READER),
        Route("delete", "/cloud/servers/{server_id}", server_writes.delete_server, "deleteServer",
              docs.delete_server(), EDITOR),
        Route("patch", "/cloud/servers/{server_id}", server_writes.update_server, "updateServer",
              docs.update_server(), EDITOR),
        Route("get", "/cloud/servers/{server_id}/console-log", server_consoles.console_log, "showConsoleLog",
              docs.console_log(), READER),
        Route("post", "/cloud/servers/{server_id}/remote-console", server_consoles.remote_console,
              "createRemoteConsole", docs.remote_console(), OPERATOR),
        Route("post", "/cloud/servers/{server_id}/actions", server_actions.act_on_server, "actOnServer",
              docs.act_on_server(), OPERATOR),
        Route("get", "/cloud/volumes/{volume_id}", volume_reads.show_volume, "showVolume", docs.show_volume(),
              READER),
        Route("post", "/cloud/volumes", volume_writes.create_volume, "createVolume", docs.create_volume(),
              EDITOR),
        Route("delete", "/cloud/volumes/{volume_id}", volume_writes.delete_volume, "deleteVolume",
              docs.delete_volume(), EDITOR),
        Route("get", "/cloud/jobs", job_status.list_jobs, "listJobs", docs.list_jobs(), READER),
        Route("get", "/cloud/jobs/{job_id}", job_status.show_job, "showJob", docs.show_job(), READER),
        Route("get", "/cloud/events", event_stream.stream_events, "streamEvents", docs.stream_events(),
              READER),
        Route("post", "/cloud/webhooks", subscriptions.create_webhook, "createWebhook",
              docs.create_webhook(), EDITOR),
        Route("get", "/cloud/webhooks", subscriptions.list_webhooks, "listWebhooks", docs.list_webhooks(),
              READER),
        Route("get", _WEBHOOK, subscriptions.show_webhook, "showWebhook", docs.show_webhook(), READER),
        Route("delete", _WEBHOOK, subscriptions.delete_webhook, "deleteWebhook", docs.delete_webhook(),
              EDITOR),
        Route("post", f"{_WEBHOOK}/rotate-secret", subscriptions.rotate_secret, "rotateWebhookSecret",
              docs.rotate_secret(), EDITOR),
        Route("post", f"{_WEBHOOK}/ping", subscriptions.ping_webhook, "pingWebhook",
              docs.queued_delivery("Send a webhook.ping event"), EDITOR),
        Route("get", f"{_WEBHOOK}/deliveries", subscriptions.list_deliveries, "listWebhookDeliveries",
              docs.list_deliveries(), READER),
        Route("post", f"{_WEBHOOK}/deliveries/{{delivery_id}}/redeliver", subscriptions.redeliver,
              "redeliverWebhookEvent", docs.redeliver(), EDITOR),
        *(Route("get", f"/cloud/{segment}", resource_list_handler(kind), operation_id,
                docs.snapshot_list(f"List {segment} (from the snapshot)", schema, segment), READER)
          for segment, kind, schema, operation_id in _RESOURCE_LISTS),
    )
