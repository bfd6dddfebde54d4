"""The OpenAPI document, generated from the marshmallow schemas the handlers use.

Every status an operation can answer is declared; ``tests/test_openapi_conformance.py`` runs
schemathesis against the live service to keep it so.
"""
from collections.abc import Mapping
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .openapi_conventions import apply_conventions
from .schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    ActionAnswerSchema,
    ActionSchema,
    CreateAnswerSchema,
    CreateServerSchema,
    FlavorSchema,
    ImageSchema,
    JobListQuerySchema,
    JobSchema,
    KeypairSchema,
    NetworkSchema,
    ProblemSchema,
    ProjectQuerySchema,
    SecurityGroupSchema,
    ServerListQuerySchema,
    ServerSchema,
    VolumeSchema,
)
from .webhook_schemas import (
    DeliveryAttemptSchema,
    DeliveryListQuerySchema,
    EventsQuerySchema,
    QueuedDeliverySchema,
    SecretRotationSchema,
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookSchema,
)

_PROBLEM = {"description": "a problem document (RFC 9457)",
            "content": {"application/problem+json": {"schema": "Problem"}}}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
_SNAPSHOT_HEADERS = {
    "ETag": {"schema": {"type": "string"}},
    "X-Snapshot-Age": {"schema": {"type": "integer"}, "description": "seconds since taken"},
    "X-Snapshot-Stale": {"schema": {"type": "string"},
                         "description": "\"true\" when OpenStack could not be reached"},
}
# What any /cloud operation may answer: bad parameters, no token, out of scope, unknown project,
# a failure of ours, OpenStack or the store unreachable, OpenStack too slow.
_CLOUD_ERRORS = {status: _PROBLEM for status in ("400", "401", "403", "404", "500", "503", "504")}
_THROTTLED = {"429": {**_PROBLEM, "headers": _RETRY_AFTER}}
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                  "description": "an ETag of this list: 304 if it is still the list"}


_CREATE_EXAMPLE = {
    "project_id": "4f1c3d0e8a6b4c2f9e7d5b3a1c0e2f4d", "name": "web-02", "flavor_id": "m1.small",
    "image_id": "9bf65ad9-f161-461e-a6e7-0dac0e5bf153",
    "network_ids": ["5e1c2b7a-0d3f-4c8e-9a6b-2f4d1e3c5a7b"], "key_name": "my-keypair",
    "security_groups": ["default"], "user_data": "#cloud-config\npackages: [nginx]\n",
    "boot_volume": {"size_gb": 20, "delete_on_termination": False},
}


def _json(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _path_id(name: str, what: str) -> dict[str, Any]:
    return {"in": "path", "name": name, "required": True, "description": f"the {what}'s UUID",
            "schema": {"type": "string"}}


def _list_operation(summary: str, schema: str, query: type, tag: str) -> dict[str, Any]:
    ok = {"description": summary, "headers": {**_SNAPSHOT_HEADERS, "Link": {
              "schema": {"type": "string"}, "description": 'the next page, rel="next" (paged lists)'}},
          "content": _json({"type": "array", "items": schema})}
    return {"get": {"summary": summary, "tags": [tag], "security": _BEARER,
                    "parameters": [{"in": "query", "schema": query}, _IF_NONE_MATCH],
                    "responses": {"200": ok, "304": {"description": "not modified"}, **_CLOUD_ERRORS}}}


def _server_operations() -> dict[str, Any]:
    servers = _list_operation("List servers (from the snapshot; Link: rel=next when paged)",
                              "Server", ServerListQuerySchema, "servers")
    servers["post"] = {
        "summary": "Create a server (a queued job)", "tags": ["servers"], "security": _BEARER,
        "parameters": [{"in": "header", "name": "Idempotency-Key",
                        "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY_PATTERN}$"},
                        "description": "the same key within 24 h answers the first answer again"}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": "CreateServer", "example": _CREATE_EXAMPLE}}},
        "responses": {"202": {"description": "accepted; follow the job", "headers": {
            "Location": {"schema": {"type": "string"}}}, "content": _json("CreateAnswer")},
            "408": _PROBLEM, "413": _PROBLEM, "415": _PROBLEM, "422": _PROBLEM, **_THROTTLED,
            **_CLOUD_ERRORS}}
    return servers


def _server_item_operations() -> dict[str, Any]:
    def parameters() -> list[dict[str, Any]]:  # apispec expands each list in place: one each
        return [_path_id("server_id", "server"), {"in": "query", "schema": ProjectQuerySchema}]

    return {
        "get": {"summary": "Show a server, live from Nova", "tags": ["servers"], "security": _BEARER,
                "parameters": parameters(),
                "responses": {"200": {"description": "the server", "content": _json("Server")},
                              **_THROTTLED, **_CLOUD_ERRORS}},
        "delete": {"summary": "Delete a server (a queued job)", "tags": ["servers"],
                   "security": _BEARER, "parameters": parameters(),
                   "responses": {"204": {"description": "deleting (also when already deleting)",
                                         "headers": {"Link": {"schema": {"type": "string"},
                                                              "description": 'the job, rel="monitor"'}}},
                                 **_THROTTLED, **_CLOUD_ERRORS}}}


def _action_operation() -> dict[str, Any]:
    return {"post": {
        "summary": "Stop, start or reboot a server (a queued job)", "tags": ["servers"],
        "security": _BEARER,
        "parameters": [_path_id("server_id", "server"), {"in": "query", "schema": ProjectQuerySchema},
                       {"in": "header", "name": "Idempotency-Key",
                        "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY_PATTERN}$"}}],
        "requestBody": {"required": True, "content": _json("Action")},
        "responses": {"202": {"description": "accepted; follow the job", "headers": {
            "Location": {"schema": {"type": "string"}}}, "content": _json("ActionAnswer")},
            "408": _PROBLEM, "409": {**_PROBLEM, "description": "the server's state does not "
                                     "allow the action now (the problem says why)"},
            "413": _PROBLEM, "415": _PROBLEM, "422": _PROBLEM, **_THROTTLED, **_CLOUD_ERRORS}}}


def _job_operations(spec: APISpec) -> None:
    spec.path("/cloud/jobs", operations={"get": {
        "summary": "A server's latest jobs, newest first", "tags": ["jobs"], "security": _BEARER,
        "parameters": [{"in": "query", "schema": JobListQuerySchema}],
        "responses": {"200": {"description": "the jobs",
                              "content": _json({"type": "array", "items": "Job"})},
                      **_CLOUD_ERRORS}}})
    spec.path("/cloud/jobs/{job_id}", operations={"get": {
        "summary": "A create or delete job", "tags": ["jobs"], "security": _BEARER,
        "parameters": [_path_id("job_id", "job"), {"in": "query", "schema": ProjectQuerySchema}],
        "responses": {"200": {"description": "the job", "content": _json("Job")}, **_CLOUD_ERRORS}}})


def _webhook_operations(spec: APISpec) -> None:
    def project() -> list[dict[str, Any]]:
        return [_path_id("webhook_id", "webhook"), {"in": "query", "schema": ProjectQuerySchema}]

    def operation(summary: str, answers: dict[str, Any], **more: Any) -> dict[str, Any]:
        return {"summary": summary, "tags": ["webhooks"], "security": _BEARER,
                "parameters": project(), "responses": {**answers, **_CLOUD_ERRORS}, **more}

    queued = {"202": {"description": "queued; follow it in the delivery log",
                      "headers": {"Location": {"schema": {"type": "string"}}},
                      "content": _json("QueuedDelivery")},
              "409": {**_PROBLEM, "description": "the subscription is disabled"}, **_THROTTLED}
    spec.path("/cloud/webhooks", operations={
        "post": {"summary": "Subscribe to events (the answer holds the signing secret, shown only "
                            "here)", "tags": ["webhooks"], "security": _BEARER,
                 "requestBody": {"required": True, "content": _json("WebhookCreate")},
                 "responses": {"201": {"description": "subscribed", "content": _json("WebhookCreated"),
                                       "headers": {"Location": {"schema": {"type": "string"}}}},
                               "408": _PROBLEM, "413": _PROBLEM, "415": _PROBLEM, "422": _PROBLEM,
                               **_THROTTLED, **_CLOUD_ERRORS}},
        "get": {"summary": "The project's subscriptions", "tags": ["webhooks"], "security": _BEARER,
                "parameters": [{"in": "query", "schema": ProjectQuerySchema}],
                "responses": {"200": {"description": "the subscriptions",
                                      "content": _json({"type": "array", "items": "Webhook"})},
                              **_CLOUD_ERRORS}}})
    spec.path("/cloud/webhooks/{webhook_id}", operations={
        "get": operation("A subscription", {"200": {"description": "it",
                                                    "content": _json("Webhook")}}),
        "delete": operation("Unsubscribe", {"204": {"description": "unsubscribed"}, **_THROTTLED})})
    spec.path("/cloud/webhooks/{webhook_id}/rotate-secret", operations={"post": operation(
        "A new signing secret; the old one signs beside it for 24 h",
        {"200": {"description": "the new secret", "content": _json("SecretRotation")}, **_THROTTLED})})
    spec.path("/cloud/webhooks/{webhook_id}/ping", operations={"post": operation(
        "Send a webhook.ping event", queued)})
    spec.path("/cloud/webhooks/{webhook_id}/deliveries", operations={"get": {
        **operation("The latest delivery attempts, newest first (Link: rel=next pages on)",
                    {"200": {"description": "the attempts",
                             "headers": {"Link": {"schema": {"type": "string"}}},
                             "content": _json({"type": "array", "items": "DeliveryAttempt"})}}),
        "parameters": [_path_id("webhook_id", "webhook"),
                       {"in": "query", "schema": DeliveryListQuerySchema}]}})
    spec.path("/cloud/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", operations={"post": {
        **operation("Send a delivery's event again (same event id)", queued),
        "parameters": [*project(), _path_id("delivery_id", "delivery")]}})
    spec.path("/cloud/events", operations={"get": {
        "summary": "The project's events as Server-Sent Events, live (Last-Event-ID resumes)",
        "tags": ["events"], "security": _BEARER,
        "parameters": [{"in": "query", "schema": EventsQuerySchema},
                       {"in": "header", "name": "Last-Event-ID", "schema": {"type": "string"},
                        "description": "resume after this event"}],
        "responses": {"200": {"description": "the stream", "content": {
            "text/event-stream": {"schema": {"type": "string"}}}}, **_THROTTLED, **_CLOUD_ERRORS}}})


def _operations_endpoints(spec: APISpec) -> None:
    status = {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "redis": {"type": "string"}, "reason": {"type": "string"}}}
    for path, summary, ok, extra in (
            ("/healthz", "Liveness", _json(status), {}),
            ("/readyz", "Readiness (Redis reachable, clouds.yaml in force)", _json(status),
             {"503": {"description": "not ready: Redis unreachable, or clouds.yaml rejected",
                      "content": _json(status)}}),
            ("/metrics", "Prometheus metrics",
             {"text/plain": {"schema": {"type": "string"}}}, {}),
            ("/cloud/openapi.json", "This document", _json({"type": "object"}), {})):
        spec.path(path, operations={"get": {"summary": summary, "tags": ["operations"], "responses": {
            "200": {"description": "OK", "content": ok}, **extra}}})


def build_openapi(descriptions: Mapping[tuple[str, str], str] | None = None) -> dict[str, Any]:
    """The service's OpenAPI 3 document; ``descriptions`` of operations by (method, path)."""
    spec = APISpec(title="Cloud Servers API", version="0.1.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Run OpenStack virtual machines without touching OpenStack."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in (("Server", ServerSchema), ("Flavor", FlavorSchema), ("Image", ImageSchema),
                         ("Network", NetworkSchema), ("Keypair", KeypairSchema),
                         ("SecurityGroup", SecurityGroupSchema), ("Volume", VolumeSchema),
                         ("Problem", ProblemSchema), ("CreateServer", CreateServerSchema),
                         ("CreateAnswer", CreateAnswerSchema), ("Job", JobSchema),
                         ("Action", ActionSchema), ("ActionAnswer", ActionAnswerSchema),
                         ("WebhookCreate", WebhookCreateSchema), ("Webhook", WebhookSchema),
                         ("WebhookCreated", WebhookCreatedSchema),
                         ("SecretRotation", SecretRotationSchema),
                         ("QueuedDelivery", QueuedDeliverySchema),
                         ("DeliveryAttempt", DeliveryAttemptSchema)):
        spec.components.schema(name, schema=schema)
    spec.path("/cloud/servers", operations=_server_operations())
    spec.path("/cloud/servers/{server_id}", operations=_server_item_operations())
    spec.path("/cloud/servers/{server_id}/actions", operations=_action_operation())
    _job_operations(spec)
    _webhook_operations(spec)
    for path, item, tag in (("flavors", "Flavor", "flavors"), ("images", "Image", "images"),
                            ("networks", "Network", "networks"),
                            ("ssh-keypairs", "Keypair", "ssh-keypairs"),
                            ("security-groups", "SecurityGroup", "security-groups"),
                            ("volumes", "Volume", "volumes")):
        spec.path(f"/cloud/{path}", operations=_list_operation(
            f"List {path} (from the snapshot)", item, ProjectQuerySchema, tag))
    _operations_endpoints(spec)
    document = spec.to_dict()
    apply_conventions(document, descriptions or {})
    return document
