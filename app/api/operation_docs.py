"""What each operation documents in OpenAPI: its summary, parameters, body and answers. The route
table (``routes.py``) pairs each with its method, path, handler and operation id."""
from typing import Any

from .schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    ConsoleLogQuerySchema,
    JobListQuerySchema,
    ProjectQuerySchema,
    ServerListQuerySchema,
)
from .webhook_schemas import DeliveryListQuerySchema, EventsQuerySchema

Operation = dict[str, Any]

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
_BODY_ERRORS = {status: _PROBLEM for status in ("408", "413", "415", "422")}
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                  "description": "an ETag of this list: 304 if it is still the list"}
_LOCATION = {"Location": {"schema": {"type": "string"}}}
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


def _project() -> dict[str, Any]:  # apispec expands a query schema in place: a new one each time
    return {"in": "query", "schema": ProjectQuerySchema}


def _idempotency_key(description: str) -> dict[str, Any]:
    return {"in": "header", "name": "Idempotency-Key", "description": description,
            "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY_PATTERN}$"}}


def _cloud(summary: str, tag: str, parameters: list[dict[str, Any]], answers: dict[str, Any],
           **more: Any) -> Operation:
    """An authenticated /cloud operation, with the errors any of them may answer."""
    return {"summary": summary, "tags": [tag], "security": _BEARER, "parameters": parameters,
            "responses": {**answers, **_CLOUD_ERRORS}, **more}


def _accepted(answer: str) -> dict[str, Any]:
    return {"202": {"description": "accepted; follow the job", "headers": _LOCATION,
                    "content": _json(answer)}}


def snapshot_list(summary: str, schema: str, tag: str, query: type = ProjectQuerySchema) -> Operation:
    """A list answered from the snapshot (ETag, age, staleness; 304 on If-None-Match)."""
    ok = {"description": summary, "headers": {**_SNAPSHOT_HEADERS, "Link": {
              "schema": {"type": "string"}, "description": 'the next page, rel="next" (paged lists)'}},
          "content": _json({"type": "array", "items": schema})}
    return _cloud(summary, tag, [{"in": "query", "schema": query}, _IF_NONE_MATCH],
                  {"200": ok, "304": {"description": "not modified"}})


def list_servers() -> Operation:
    """``GET /cloud/servers``."""
    return snapshot_list("List servers (from the snapshot; Link: rel=next when paged)", "Server",
                         "servers", ServerListQuerySchema)


def create_server() -> Operation:
    """``POST /cloud/servers``."""
    return _cloud("Create a server (a queued job)", "servers",
                  [_idempotency_key("the same key within 24 h answers the first answer again")],
                  {**_accepted("CreateAnswer"), **_BODY_ERRORS, **_THROTTLED},
                  requestBody={"required": True, "content": {"application/json": {
                      "schema": "CreateServer", "example": _CREATE_EXAMPLE}}})


def show_server() -> Operation:
    """``GET /cloud/servers/{server_id}``."""
    return _cloud("Show a server, live from Nova", "servers", [_path_id("server_id", "server"), _project()],
                  {"200": {"description": "the server", "content": _json("Server"), "headers": {
                      "Age": {"schema": {"type": "integer"}, "description": "seconds since the Nova "
                              "read answered (at most SHOW_FRESHNESS; 0: read for this request)"},
                      **{name: header for name, header in _SNAPSHOT_HEADERS.items() if name != "ETag"}}},
                   **_THROTTLED})


def delete_server() -> Operation:
    """``DELETE /cloud/servers/{server_id}``."""
    return _cloud("Delete a server (a queued job)", "servers", [_path_id("server_id", "server"), _project()],
                  {"204": {"description": "deleting (also when already deleting)", "headers": {
                      "Link": {"schema": {"type": "string"}, "description": 'the job, rel="monitor"'}}},
                   **_THROTTLED})


def act_on_server() -> Operation:
    """``POST /cloud/servers/{server_id}/actions``."""
    conflict = {"409": {**_PROBLEM, "description": "the server's state does not allow the action "
                                                   "now (the problem says why)"}}
    return _cloud("Stop, start, reboot, resize or snapshot a server (a queued job)", "servers",
                  [_path_id("server_id", "server"), _project(),
                   _idempotency_key("the same key within 24 h answers the first answer again")],
                  {**_accepted("ActionAnswer"), **conflict, **_BODY_ERRORS, **_THROTTLED},
                  requestBody={"required": True, "content": _json("Action")})


def update_server() -> Operation:
    """``PATCH /cloud/servers/{server_id}``."""
    conflict = {"409": {**_PROBLEM, "description": "the server is being deleted, or Nova refuses "
                                                   "the change in its state"}}
    return _cloud("Rename a server or replace its metadata (at once)", "servers",
                  [_path_id("server_id", "server"), _project()],
                  {"200": {"description": "the server as Nova now shows it", "content": _json("Server")},
                   **conflict, **_BODY_ERRORS, **_THROTTLED},
                  requestBody={"required": True, "content": _json("UpdateServer")})


def console_log() -> Operation:
    """``GET /cloud/servers/{server_id}/console-log``."""
    return _cloud("A server's console log, live from Nova", "servers",
                  [_path_id("server_id", "server"), {"in": "query", "schema": ConsoleLogQuerySchema}],
                  {"200": {"description": "its last lines", "content": _json("ConsoleLog")},
                   "409": {**_PROBLEM, "description": "the server has no console log yet"}, **_THROTTLED})


def remote_console() -> Operation:
    """``POST /cloud/servers/{server_id}/remote-console``."""
    return _cloud("Open a remote console (its URL is a credential)", "servers",
                  [_path_id("server_id", "server"), _project()],
                  {"201": {"description": "the console", "content": _json("RemoteConsoleAnswer")},
                   "409": {**_PROBLEM, "description": "the server is not running"},
                   **_BODY_ERRORS, **_THROTTLED},
                  requestBody={"required": True, "content": _json("RemoteConsole")})


def show_volume() -> Operation:
    """``GET /cloud/volumes/{volume_id}``."""
    return _cloud("Show a volume, live from Cinder", "volumes", [_path_id("volume_id", "volume"), _project()],
                  {"200": {"description": "the volume", "content": _json("Volume")}, **_THROTTLED})


def create_volume() -> Operation:
    """``POST /cloud/volumes``."""
    return _cloud("Create a volume (a queued job)", "volumes",
                  [_idempotency_key("the same key within 24 h answers the first answer again")],
                  {**_accepted("VolumeCreateAnswer"), **_BODY_ERRORS, **_THROTTLED},
                  requestBody={"required": True, "content": _json("VolumeCreate")})


def delete_volume() -> Operation:
    """``DELETE /cloud/volumes/{volume_id}``."""
    return _cloud("Delete a volume (a queued job)", "volumes", [_path_id("volume_id", "volume"), _project()],
                  {"204": {"description": "deleting (also when already deleting)", "headers": {
                      "Link": {"schema": {"type": "string"}, "description": 'the job, rel="monitor"'}}},
                   "409": {**_PROBLEM, "description": "the volume is attached, or not in a state "
                                                      "Cinder deletes from"}, **_THROTTLED})


def list_jobs() -> Operation:
    """``GET /cloud/jobs``."""
    return _cloud("A server's latest jobs, newest first", "jobs",
                  [{"in": "query", "schema": JobListQuerySchema}],
                  {"200": {"description": "the jobs", "content": _json({"type": "array", "items": "Job"})}})


def show_job() -> Operation:
    """``GET /cloud/jobs/{job_id}``."""
    return _cloud("A job: a create, a delete or an action", "jobs", [_path_id("job_id", "job"), _project()],
                  {"200": {"description": "the job", "content": _json("Job")}})


def stream_events() -> Operation:
    """``GET /cloud/events``."""
    return _cloud("The project's events as Server-Sent Events, live (Last-Event-ID resumes)", "events",
                  [{"in": "query", "schema": EventsQuerySchema},
                   {"in": "header", "name": "Last-Event-ID", "schema": {"type": "string"},
                    "description": "resume after this event"}],
                  {"200": {"description": "the stream", "content": {
                      "text/event-stream": {"schema": {"type": "string"}}}}, **_THROTTLED})


def create_webhook() -> Operation:
    """``POST /cloud/webhooks``."""
    return _cloud("Subscribe to events (the answer holds the signing secret, shown only here)",
                  "webhooks", [],
                  {"201": {"description": "subscribed", "content": _json("WebhookCreated"),
                           "headers": _LOCATION}, **_BODY_ERRORS, **_THROTTLED},
                  requestBody={"required": True, "content": _json("WebhookCreate")})


def list_webhooks() -> Operation:
    """``GET /cloud/webhooks``."""
    return _cloud("The project's subscriptions", "webhooks", [_project()],
                  {"200": {"description": "the subscriptions",
                           "content": _json({"type": "array", "items": "Webhook"})}})


def webhook(summary: str, answers: dict[str, Any], *more_parameters: dict[str, Any]) -> Operation:
    """An operation on one subscription, named in the path."""
    return _cloud(summary, "webhooks", [_path_id("webhook_id", "webhook"), _project(), *more_parameters],
                  answers)


def queued_delivery(summary: str, *more_parameters: dict[str, Any]) -> Operation:
    """An event queued for a subscription: answered with the delivery to follow."""
    return webhook(summary, {"202": {"description": "queued; follow it in the delivery log",
                                     "headers": _LOCATION, "content": _json("QueuedDelivery")},
                             "409": {**_PROBLEM, "description": "the subscription is disabled"},
                             **_THROTTLED}, *more_parameters)


def show_webhook() -> Operation:
    """``GET /cloud/webhooks/{webhook_id}``."""
    return webhook("A subscription", {"200": {"description": "it", "content": _json("Webhook")}})


def delete_webhook() -> Operation:
    """``DELETE /cloud/webhooks/{webhook_id}``."""
    return webhook("Unsubscribe", {"204": {"description": "unsubscribed"}, **_THROTTLED})


def rotate_secret() -> Operation:
    """``POST /cloud/webhooks/{webhook_id}/rotate-secret``."""
    return webhook("A new signing secret; the old one signs beside it for 24 h",
                   {"200": {"description": "the new secret", "content": _json("SecretRotation")},
                    **_THROTTLED})


def list_deliveries() -> Operation:
    """``GET /cloud/webhooks/{webhook_id}/deliveries``."""
    return _cloud("The latest delivery attempts, newest first (Link: rel=next pages on)", "webhooks",
                  [_path_id("webhook_id", "webhook"), {"in": "query", "schema": DeliveryListQuerySchema}],
                  {"200": {"description": "the attempts", "headers": {"Link": {"schema": {"type": "string"}}},
                           "content": _json({"type": "array", "items": "DeliveryAttempt"})}})


def redeliver() -> Operation:
    """``POST /cloud/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver``."""
    return queued_delivery("Send a delivery's event again (same event id)",
                           _path_id("delivery_id", "delivery"))


_STATUS = {"type": "object", "required": ["status"], "properties": {
    "status": {"type": "string", "enum": ["ok", "unavailable"]},
    "redis": {"type": "string"}, "reason": {"type": "string"}}}


def probe(summary: str, content: dict[str, Any] | None = None, **more: Any) -> Operation:
    """An unauthenticated operations endpoint (health, readiness, metrics, this document)."""
    return {"summary": summary, "tags": ["operations"], "responses": {
        "200": {"description": "OK", "content": content or _json(_STATUS)}, **more}}


def readiness() -> Operation:
    """``GET /readyz``."""
    return probe("Readiness (Redis reachable, clouds.yaml in force)", None, **{"503": {
        "description": "not ready: Redis unreachable, clouds.yaml rejected, or a trusted JWT "
                       "issuer whose keys were never fetched", "content": _json(_STATUS)}})
