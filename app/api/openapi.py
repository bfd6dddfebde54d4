"""The OpenAPI document, generated from the marshmallow schemas the handlers use."""
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .schemas import (
    CreateAnswerSchema,
    CreateServerSchema,
    FlavorSchema,
    ImageSchema,
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
_SNAPSHOT_HEADERS = {
    "ETag": {"schema": {"type": "string"}},
    "X-Snapshot-Age": {"schema": {"type": "integer"}, "description": "seconds since taken"},
    "X-Snapshot-Stale": {"schema": {"type": "string"},
                         "description": "\"true\" when OpenStack could not be reached"},
}
_ERRORS = {"400": _PROBLEM, "401": _PROBLEM, "403": _PROBLEM, "404": _PROBLEM, "503": _PROBLEM,
           "504": _PROBLEM}


def _list_operation(summary: str, schema: str, query: type, tag: str) -> dict[str, Any]:
    ok = {"description": summary, "headers": _SNAPSHOT_HEADERS,
          "content": {"application/json": {"schema": {"type": "array", "items": schema}}}}
    return {"get": {"summary": summary, "tags": [tag], "security": [{"bearer": []}],
                    "parameters": [{"in": "query", "schema": query}],
                    "responses": {"200": ok, "304": {"description": "not modified"}, **_ERRORS}}}


def build_openapi() -> dict[str, Any]:
    """The service's OpenAPI 3 document."""
    spec = APISpec(title="Cloud Servers API", version="0.1.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Run OpenStack virtual machines without touching OpenStack."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in (("Server", ServerSchema), ("Flavor", FlavorSchema), ("Image", ImageSchema),
                         ("Network", NetworkSchema), ("Keypair", KeypairSchema),
                         ("Problem", ProblemSchema), ("CreateServer", CreateServerSchema),
                         ("CreateAnswer", CreateAnswerSchema), ("Job", JobSchema)):
        spec.components.schema(name, schema=schema)
    servers = _list_operation("List servers (from the snapshot; Link: rel=next when paged)",
                              "Server", ServerListQuerySchema, "servers")
    servers["post"] = {
        "summary": "Create a server (a queued job)", "tags": ["servers"], "security": [{"bearer": []}],
        "parameters": [{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"},
                        "description": "the same key within 24 h answers the first answer again"}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "CreateServer"}}},
        "responses": {"202": {"description": "accepted; follow the job", "headers": {
            "Location": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": "CreateAnswer"}}},
            "413": _PROBLEM, "415": _PROBLEM, "422": _PROBLEM, **_ERRORS}}
    spec.path("/cloud/servers", operations=servers)
    spec.path("/cloud/servers/{server_id}", operations={"get": {
        "summary": "Show a server, live from Nova", "tags": ["servers"],
        "security": [{"bearer": []}],
        "parameters": [{"in": "path", "name": "server_id", "required": True,
                        "schema": {"type": "string"}}, {"in": "query", "schema": ProjectQuerySchema}],
        "responses": {"200": {"description": "the server", "content": {
            "application/json": {"schema": "Server"}}}, **_ERRORS}},
        "delete": {"summary": "Delete a server (a queued job)", "tags": ["servers"],
                   "security": [{"bearer": []}],
                   "parameters": [{"in": "path", "name": "server_id", "required": True,
                                   "schema": {"type": "string"}},
                                  {"in": "query", "schema": ProjectQuerySchema}],
                   "responses": {"204": {"description": "deleting (also when already deleting)"},
                                 **_ERRORS}}})
    spec.path("/cloud/jobs/{job_id}", operations={"get": {
        "summary": "A create or delete job", "tags": ["jobs"], "security": [{"bearer": []}],
        "parameters": [{"in": "path", "name": "job_id", "required": True, "schema": {"type": "string"}},
                       {"in": "query", "schema": ProjectQuerySchema}],
        "responses": {"200": {"description": "the job", "content": {
            "application/json": {"schema": "Job"}}}, **_ERRORS}}})
    for path, item, tag in (("flavors", "Flavor", "flavors"), ("images", "Image", "images"),
                            ("networks", "Network", "networks"),
                            ("ssh-keypairs", "Keypair", "ssh-keypairs")):
        spec.path(f"/cloud/{path}", operations=_list_operation(
            f"List {path} (from the snapshot)", item, ProjectQuerySchema, tag))
    for path, summary in (("/healthz", "Liveness"), ("/readyz", "Readiness (Redis reachable)"),
                          ("/metrics", "Prometheus metrics"),
                          ("/cloud/openapi.json", "This document")):
        spec.path(path, operations={"get": {"summary": summary, "tags": ["operations"],
                                            "responses": {"200": {"description": "OK"}}}})
    return spec.to_dict()
