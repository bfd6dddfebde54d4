"""The OpenAPI document, generated from the route table and the marshmallow schemas the handlers
use. Every status an operation can answer is declared; ``tests/service/test_openapi_conformance.py``
runs schemathesis against the live service to keep it so.
"""
from collections.abc import Iterable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .openapi_conventions import apply_conventions
from .routes import Route, routes
from .schemas import (
    ActionAnswerSchema,
    ActionSchema,
    ConsoleLogSchema,
    CreateAnswerSchema,
    CreateServerSchema,
    FlavorSchema,
    ImageSchema,
    JobSchema,
    KeypairSchema,
    NetworkSchema,
    ProblemSchema,
    RemoteConsoleAnswerSchema,
    RemoteConsoleSchema,
    SecurityGroupSchema,
    ServerSchema,
    UpdateServerSchema,
    VolumeCreateAnswerSchema,
    VolumeCreateSchema,
    VolumeSchema,
)
from .webhook_schemas import (
    DeliveryAttemptSchema,
    QueuedDeliverySchema,
    SecretRotationSchema,
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookSchema,
    comma_separated,
)

# The schemas operations name, by the name they use.
_COMPONENTS = (("Server", ServerSchema), ("Flavor", FlavorSchema), ("Image", ImageSchema),
               ("Network", NetworkSchema), ("Keypair", KeypairSchema),
               ("SecurityGroup", SecurityGroupSchema), ("Volume", VolumeSchema),
               ("Problem", ProblemSchema), ("CreateServer", CreateServerSchema),
               ("CreateAnswer", CreateAnswerSchema), ("Job", JobSchema),
               ("Action", ActionSchema), ("ActionAnswer", ActionAnswerSchema),
               ("UpdateServer", UpdateServerSchema), ("ConsoleLog", ConsoleLogSchema),
               ("VolumeCreate", VolumeCreateSchema), ("VolumeCreateAnswer", VolumeCreateAnswerSchema),
               ("RemoteConsole", RemoteConsoleSchema), ("RemoteConsoleAnswer", RemoteConsoleAnswerSchema),
               ("WebhookCreate", WebhookCreateSchema), ("Webhook", WebhookSchema),
               ("WebhookCreated", WebhookCreatedSchema), ("SecretRotation", SecretRotationSchema),
               ("QueuedDelivery", QueuedDeliverySchema), ("DeliveryAttempt", DeliveryAttemptSchema))

# What a schema's own validation says that its fields cannot: an update changes something.
_EXTRA: dict[str, dict[str, Any]] = {"UpdateServer": {"minProperties": 1}}


def _operation(route: Route) -> dict[str, Any]:
    """A route's operation, with its id, its handler's description and the role it needs."""
    operation = {"operationId": route.operation_id, "description": route.description, **route.operation}
    if route.role is not None:
        operation["description"] += f" Needs the `{route.role}` role on the project (or a higher one)."
        operation["x-required-role"] = route.role
        operation["responses"] = {**operation["responses"], "403": {
            **operation["responses"]["403"],
            "description": f"the project is outside the caller's, or its role there is below "
                           f"`{route.role}` (the problem names the role needed)"}}
    return operation


def build_openapi(served: Iterable[Route] | None = None) -> dict[str, Any]:
    """The service's OpenAPI 3 document for ``served`` (every route when not given)."""
    marshmallow = MarshmallowPlugin()
    spec = APISpec(title="Cloud Servers API", version="0.1.0", openapi_version="3.0.3",
                   plugins=[marshmallow],
                   info={"description": "Run OpenStack virtual machines without touching OpenStack."})
    assert marshmallow.converter is not None  # made when the spec was
    marshmallow.converter.add_parameter_attribute_function(comma_separated)
    spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "a static token of the tokens file, or a JWT of an issuer the access file trusts"})
    for name, schema in _COMPONENTS:
        spec.components.schema(name, _EXTRA.get(name), schema=schema)
    by_path: dict[str, dict[str, Any]] = {}
    for route in served if served is not None else routes():
        by_path.setdefault(route.path, {})[route.method] = _operation(route)
    for path, operations in by_path.items():
        spec.path(path, operations=operations)
    document = spec.to_dict()
    apply_conventions(document)
    return document
