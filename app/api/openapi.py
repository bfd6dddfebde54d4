"""The OpenAPI document, generated from the marshmallow schemas the handlers use.

Every status an operation can answer is declared; ``tests/test_openapi_conformance.py`` runs
schemathesis against the live service to keep it so.
"""
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

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
    ServerListQuerySchema,
    ServerSchema,
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


def _json(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _path_id(name: str, what: str) -> dict[str, Any]:
    return {"in": "path", "name": name, "required": True, "description": f"the {what}'s UUID",
            "schema": {"type": "string"}}


def _list_operation(summary: str, schema: str, query: type, tag: str) -> dict[str, Any]:
    ok = {"description": summary, "headers": _SNAPSHOT_HEADERS,
          "content": _json({"type": "array", "items": schema})}
    return {"get": {"summary": summary, "tags": [tag], "security": _BEARER,
                    "parameters": [{"in": "query", "schema": query}],
                    "responses": {"200": ok, "304": {"description": "not modified"}, **_CLOUD_ERRORS}}}


def _server_operations() -> dict[str, Any]:
    servers = _list_operation("List servers (from the snapshot; Link: rel=next when paged)",
                              "Server", ServerListQuerySchema, "servers")
    servers["post"] = {
        "summary": "Create a server (a queued job)", "tags": ["servers"], "security": _BEARER,
        "parameters": [{"in": "header", "name": "Idempotency-Key",
                        "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY_PATTERN}$"},
                        "description": "the same key within 24 h answers the first answer again"}],
        "requestBody": {"required": True, "content": _json("CreateServer")},
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


def _operations_endpoints(spec: APISpec) -> None:
    for path, summary, extra in (
            ("/healthz", "Liveness", {}),
            ("/readyz", "Readiness (Redis reachable)", {"503": {"description": "Redis unreachable"}}),
            ("/metrics", "Prometheus metrics", {}),
            ("/cloud/openapi.json", "This document", {})):
        spec.path(path, operations={"get": {"summary": summary, "tags": ["operations"],
                                            "responses": {"200": {"description": "OK"}, **extra}}})


def build_openapi() -> dict[str, Any]:
    """The service's OpenAPI 3 document."""
    spec = APISpec(title="Cloud Servers API", version="0.1.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Run OpenStack virtual machines without touching OpenStack."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in (("Server", ServerSchema), ("Flavor", FlavorSchema), ("Image", ImageSchema),
                         ("Network", NetworkSchema), ("Keypair", KeypairSchema),
                         ("Problem", ProblemSchema), ("CreateServer", CreateServerSchema),
                         ("CreateAnswer", CreateAnswerSchema), ("Job", JobSchema),
                         ("Action", ActionSchema), ("ActionAnswer", ActionAnswerSchema)):
        spec.components.schema(name, schema=schema)
    spec.path("/cloud/servers", operations=_server_operations())
    spec.path("/cloud/servers/{server_id}", operations=_server_item_operations())
    spec.path("/cloud/servers/{server_id}/actions", operations=_action_operation())
    _job_operations(spec)
    for path, item, tag in (("flavors", "Flavor", "flavors"), ("images", "Image", "images"),
                            ("networks", "Network", "networks"),
                            ("ssh-keypairs", "Keypair", "ssh-keypairs")):
        spec.path(f"/cloud/{path}", operations=_list_operation(
            f"List {path} (from the snapshot)", item, ProjectQuerySchema, tag))
    _operations_endpoints(spec)
    return spec.to_dict()
