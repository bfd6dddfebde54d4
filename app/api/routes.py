"""The route table: each operation's method, path, handler, operation id and OpenAPI description,
written once. The router and the OpenAPI document are both built from it."""
import dataclasses
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import operation_docs as docs
from .handlers import (
    event_stream,
    job_status,
    operations,
    server_actions,
    server_reads,
    server_writes,
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
        Route("get", "/cloud/servers", server_reads.list_servers, "listServers", docs.list_servers()),
        Route("post", "/cloud/servers", server_writes.create_server, "createServer", docs.create_server()),
        Route("get", "/cloud/servers/{server_id}", server_reads.show_server, "showServer",
              docs.show_server()),
        Route("delete", "/cloud/servers/{server_id}", server_writes.delete_server, "deleteServer",
              docs.delete_server()),
        Route("post", "/cloud/servers/{server_id}/actions", server_actions.act_on_server, "actOnServer",
              docs.act_on_server()),
        Route("get", "/cloud/jobs", job_status.list_jobs, "listJobs", docs.list_jobs()),
        Route("get", "/cloud/jobs/{job_id}", job_status.show_job, "showJob", docs.show_job()),
        Route("get", "/cloud/events", event_stream.stream_events, "streamEvents", docs.stream_events()),
        Route("post", "/cloud/webhooks", subscriptions.create_webhook, "createWebhook",
              docs.create_webhook()),
        Route("get", "/cloud/webhooks", subscriptions.list_webhooks, "listWebhooks", docs.list_webhooks()),
        Route("get", _WEBHOOK, subscriptions.show_webhook, "showWebhook", docs.show_webhook()),
        Route("delete", _WEBHOOK, subscriptions.delete_webhook, "deleteWebhook", docs.delete_webhook()),
        Route("post", f"{_WEBHOOK}/rotate-secret", subscriptions.rotate_secret, "rotateWebhookSecret",
              docs.rotate_secret()),
        Route("post", f"{_WEBHOOK}/ping", subscriptions.ping_webhook, "pingWebhook",
              docs.queued_delivery("Send a webhook.ping event")),
        Route("get", f"{_WEBHOOK}/deliveries", subscriptions.list_deliveries, "listWebhookDeliveries",
              docs.list_deliveries()),
        Route("post", f"{_WEBHOOK}/deliveries/{{delivery_id}}/redeliver", subscriptions.redeliver,
              "redeliverWebhookEvent", docs.redeliver()),
        *(Route("get", f"/cloud/{segment}", resource_list_handler(kind), operation_id,
                docs.snapshot_list(f"List {segment} (from the snapshot)", schema, segment))
          for segment, kind, schema, operation_id in _RESOURCE_LISTS),
    )
