"""The shapes of webhook subscriptions, their delivery log and the event stream's query."""
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from ..events.server_events import EVENT_TYPES
from ..events.stream import POSITION_PATTERN
from ..webhooks.destinations import URL_PATTERN
from .schemas import ProjectId, ProjectQuerySchema, Timestamp

MAX_URL_LENGTH = 2048


class WebhookCreateSchema(Schema):
    """The body of ``POST /cloud/webhooks``."""

    project_id = ProjectId(required=True, metadata={"description": "Keystone project id"})
    url = fields.String(required=True, validate=validate.Length(1, MAX_URL_LENGTH),
                        metadata={"description": "where deliveries are POSTed (https; printable "
                                                 "ASCII, no fragment)",
                                  "format": "uri", "pattern": URL_PATTERN})
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), required=True,
                         validate=validate.Length(1, len(EVENT_TYPES)),
                         metadata={"description": "the event types to deliver"})
    description = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=255))


class WebhookSchema(Schema):
    """A subscription (dumped from a ``Subscription``); never its secret."""

    id = fields.String(required=True)
    project_id = fields.String(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    description = fields.String(allow_none=True, required=True)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True, required=True)
    disabled_at = Timestamp(allow_none=True, required=True)
    failing_since = Timestamp(allow_none=True, required=True)  # since when every attempt failed
    pending_deliveries = fields.Integer(required=True)
    created_at = Timestamp(required=True)


class WebhookCreatedSchema(WebhookSchema):
    """The answer to a subscription: the subscription and its signing secret, shown only here."""

    secret = fields.String(required=True, metadata={"description": "whsec_…, shown only once"})


class SecretRotationSchema(Schema):
    """The answer to a rotation: the new secret, and when the old one stops signing."""

    id = fields.String(required=True)
    secret = fields.String(required=True)
    previous_secrets_expire_at = Timestamp(required=True)


class QueuedDeliverySchema(Schema):
    """A delivery queued by a ping or a redelivery."""

    delivery_id = fields.String(required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)


class DeliveryAttemptSchema(Schema):
    """One attempt of the delivery log."""

    id = fields.String(required=True, metadata={"description": "the attempt's position in the log"})
    delivery_id = fields.String(required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    attempted_at = fields.String(required=True, metadata={"format": "date-time"})
    attempt = fields.Integer(required=True)
    status_code = fields.Integer(allow_none=True, required=True)
    error = fields.String(allow_none=True, required=True)
    duration_ms = fields.Integer(required=True)


class DeliveryListQuerySchema(ProjectQuerySchema):
    """Paging of the delivery log."""

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200),
                           metadata={"description": "page size"})
    marker = fields.String(validate=validate.Regexp(f"^{POSITION_PATTERN}$"),
                           metadata={"description": "id of the last attempt of the previous page"})


class EventTypes(fields.Field[tuple[str, ...]]):
    """Event types, comma-separated (OpenAPI: an array in ``form`` style, not exploded); loads
    as a tuple."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"type": "array", "minItems": 1, "maxItems": len(EVENT_TYPES),
                                   "uniqueItems": True,
                                   "items": {"type": "string", "enum": list(EVENT_TYPES)},
                                   **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, ...]:
        if not isinstance(value, str) or not 0 < len(value) <= 1000:
            raise ValidationError("Not a list of event types: 1 to 1000 characters, comma-separated.")
        names = tuple(name.strip() for name in value.split(","))
        unknown = sorted({name for name in names if name not in EVENT_TYPES})
        if unknown:
            raise ValidationError(f"Unknown event types: {', '.join(unknown)}; "
                                  f"known: {', '.join(EVENT_TYPES)}.")
        return names


def comma_separated(converter: Any, field: fields.Field[Any], **kwargs: Any) -> dict[str, Any]:
    """apispec parameter attributes: a list of event types is one comma-separated value."""
    return {"style": "form", "explode": False} if isinstance(field, EventTypes) else {}


class EventsQuerySchema(ProjectQuerySchema):
    """``?project_id=&types=``."""

    types = EventTypes(metadata={"description": "event types to receive, comma-separated"})
