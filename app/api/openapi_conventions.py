"""The conventions generators and gateways expect of the OpenAPI document, applied once to what
apispec produced: the headers every answer carries, the statuses any operation can give,
nullable references a generator types as ``X | None``, object sizes as ``maxProperties``, UUID
path ids, and answer schemas left open to new fields."""
from typing import Any

# The schemas of request bodies stay strict: an unknown field is refused (422), so documented.
REQUEST_SCHEMAS = {"CreateServer", "BootVolume", "Action", "WebhookCreate", "UpdateServer", "RemoteConsole",
                   "VolumeCreate"}
_REQUEST_ID = {"in": "header", "name": "X-Request-Id", "required": False, "schema": {"type": "string"},
               "description": "echoed on the answer if 1 to 128 printable characters (else, or when "
                              "absent, one is made)"}
_ANSWER_HEADERS = {"X-Request-Id": {"schema": {"type": "string"},
                                    "description": "the request's id, as in the logs"}}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_ALWAYS = {
    "405": {"description": "the method is not allowed on this path", "content": _PROBLEM,
            "headers": {"Allow": {"schema": {"type": "string"}, "description": "the methods it allows"}}},
    "500": {"description": "a failure of ours (the request id finds it in the logs)", "content": _PROBLEM},
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
_NO_STORE = {"Cache-Control": {"schema": {"type": "string"}, "description": "no-store"}}


def apply_conventions(document: dict[str, Any]) -> None:
    """Apply the conventions in place."""
    document["servers"] = [{"url": "/", "description": "this service"}]
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["parameters"] = [*operation.get("parameters", []), _REQUEST_ID]
            _path_ids_are_uuids(operation)
            _answers(operation)
    for name, schema in document["components"]["schemas"].items():
        _schema(schema, open_answer=name not in REQUEST_SCHEMAS)


def _path_ids_are_uuids(operation: dict[str, Any]) -> None:
    for parameter in operation["parameters"]:
        if parameter.get("in") == "path":
            parameter["schema"] = {**parameter["schema"], "format": "uuid"}


def _answers(operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    for status, answer in _ALWAYS.items():
        responses.setdefault(status, dict(answer))
    for status, answer in responses.items():
        headers = {**answer.get("headers", {}), **_ANSWER_HEADERS}
        if status == "503" or status == "429":
            headers = {**_RETRY_AFTER, **headers}
        if "application/problem+json" in answer.get("content", {}):
            headers = {**headers, **_NO_STORE}
        answer["headers"] = headers


def _schema(schema: dict[str, Any], open_answer: bool) -> None:
    """Nullable references, object sizes, and (for answers) room for new fields, recursively."""
    if open_answer and schema.get("additionalProperties") is False:
        del schema["additionalProperties"]
    if schema.get("type") == "object":
        for length, size in (("maxLength", "maxProperties"), ("minLength", "minProperties")):
            if length in schema:
                schema[size] = schema.pop(length)
    for name, field in list(schema.get("properties", {}).items()):
        schema["properties"][name] = _nullable_reference(field)
        _schema(schema["properties"][name], open_answer)
    if isinstance(schema.get("items"), dict):
        _schema(schema["items"], open_answer)
    if isinstance(schema.get("additionalProperties"), dict):
        _schema(schema["additionalProperties"], open_answer)


def _nullable_reference(field: dict[str, Any]) -> dict[str, Any]:
    """apispec writes a nullable nested schema as ``anyOf`` of the reference and an untyped
    nullable object; generators type that as a union with a stray class. ``allOf`` of the
    reference with ``nullable: true`` is typed ``X | None`` by them all."""
    options = field.get("anyOf")
    if (isinstance(options, list) and len(options) == 2 and "$ref" in options[0]
            and options[1].get("nullable") is True and set(options[1]) <= {"type", "nullable"}):
        rest = {key: value for key, value in field.items() if key != "anyOf"}
        return {**rest, "allOf": [options[0]], "nullable": True}
    return field
