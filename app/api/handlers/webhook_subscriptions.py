"""``/cloud/webhooks``: subscriptions, their secrets, pings, the delivery log and redeliveries."""
from typing import Any

from aiohttp import web
from marshmallow import Schema

from ...access.scope import WRITES
from ...core.errors import Conflict, NotConfigured, NotFound, UnprocessableRequest
from ...snapshot.codec import encode
from ...webhooks.deliveries import Delivery
from ...webhooks.outbox import Webhooks
from ...webhooks.subscriptions import Subscription, SubscriptionLimit
from ..appkeys import SERVICES, SETTINGS
from ..authorization import authorized_query
from ..json_body import authorized_body, loaded
from ..path_ids import delivery_id_of, webhook_id_of
from ..schemas import ProjectQuerySchema
from ..webhook_schemas import (
    DeliveryAttemptSchema,
    DeliveryListQuerySchema,
    QueuedDeliverySchema,
    SecretRotationSchema,
    WebhookCreateSchema,
    WebhookSchema,
)

_PROJECT = ProjectQuerySchema()
_CREATE = WebhookCreateSchema()
_WEBHOOK = WebhookSchema()
_WEBHOOKS = WebhookSchema(many=True)
_ROTATION = SecretRotationSchema()
_QUEUED = QueuedDeliverySchema()
_ATTEMPTS = DeliveryAttemptSchema(many=True)
_LOG_QUERY = DeliveryListQuerySchema()


def webhook_href(project_id: str, webhook_id: str) -> str:
    """Where a subscription is shown."""
    return f"/cloud/webhooks/{webhook_id}?project_id={project_id}"


def _webhooks(request: web.Request) -> Webhooks:
    """The webhooks, once they can be used: 503 without an encryption key for secrets."""
    webhooks = request.app[SERVICES].webhooks
    if not webhooks.subscriptions.configured:
        raise NotConfigured("Webhooks are not set up on this service: it has no key to encrypt "
                            "their secrets with (WEBHOOK_KEYS_FILE).")
    return webhooks


async def _subscription(request: web.Request, limit: str | None = None,
                        schema: Schema = _PROJECT) -> tuple[Webhooks, Subscription, dict[str, Any]]:
    """The path's subscription, in the query's project (another project's is a 404), and the
    query as ``schema`` loads it."""
    query = await authorized_query(request, schema, limit)
    webhooks = _webhooks(request)
    webhook_id = webhook_id_of(request)
    subscription = await webhooks.subscriptions.get(query["project_id"], webhook_id)
    if subscription is None:
        raise NotFound(f"Webhook {webhook_id} does not exist in project {query['project_id']}.")
    return webhooks, subscription, query


def _json(answer: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(answer, status=status, headers=headers, dumps=encode)


async def create_webhook(request: web.Request) -> web.Response:
    """Subscribe a URL to event types; 201 with the signing secret, shown only this once."""
    project_id, body = await authorized_body(request, WRITES)
    webhooks = _webhooks(request)
    wanted = loaded(_CREATE, body, "The subscription")
    url_errors = webhooks.destinations.url_errors(wanted["url"])
    if url_errors:
        raise UnprocessableRequest("The subscription is invalid.", {"url": url_errors})
    try:
        subscription, secret = await webhooks.subscriptions.create(
            project_id, wanted["url"], list(dict.fromkeys(wanted["events"])), wanted["description"],
            request.app[SETTINGS].webhooks_per_project,
            await request.app[SERVICES].events.last_position(project_id))
    except SubscriptionLimit as error:
        raise UnprocessableRequest("The project cannot have another subscription.",
                                   {"project_id": [str(error)]}) from None
    return _json({**_WEBHOOK.dump(subscription), "secret": secret}, 201,
                 {"Location": webhook_href(project_id, subscription.id)})


async def list_webhooks(request: web.Request) -> web.Response:
    """The project's subscriptions, oldest first."""
    query = await authorized_query(request, _PROJECT)
    return _json(_WEBHOOKS.dump(await _webhooks(request).subscriptions.of_project(query["project_id"])))


async def show_webhook(request: web.Request) -> web.Response:
    """One subscription (never its secret)."""
    _, subscription, _ = await _subscription(request)
    return _json(_WEBHOOK.dump(subscription))


async def delete_webhook(request: web.Request) -> web.Response:
    """Unsubscribe: its undelivered events and its log go with it."""
    webhooks, subscription, _ = await _subscription(request, WRITES)
    await webhooks.subscriptions.delete(subscription.project_id, subscription.id)
    return web.Response(status=204)


async def rotate_secret(request: web.Request) -> web.Response:
    """A new signing secret; the old one keeps signing beside it for 24 h."""
    webhooks, subscription, _ = await _subscription(request, WRITES)
    secret, ends = await webhooks.subscriptions.rotate(subscription)
    return _json(_ROTATION.dump({"id": subscription.id, "secret": secret,
                                 "previous_secrets_expire_at": ends}))


async def ping_webhook(request: web.Request) -> web.Response:
    """Queue a ``webhook.ping`` delivery; 202, follow it in the delivery log."""
    webhooks, subscription, _ = await _subscription(request, WRITES)
    _check_enabled(subscription)
    return _queued(subscription, await webhooks.dispatcher.ping(subscription))


async def redeliver(request: web.Request) -> web.Response:
    """Queue a delivery's event again, with its id; 202."""
    webhooks, subscription, _ = await _subscription(request, WRITES)
    _check_enabled(subscription)
    return _queued(subscription, await webhooks.dispatcher.redeliver(subscription, delivery_id_of(request)))


def _check_enabled(subscription: Subscription) -> None:
    """409 for a disabled subscription: nothing would be sent."""
    if not subscription.enabled:
        raise Conflict(f"Webhook {subscription.id} is disabled ({subscription.disabled_reason}); "
                       "nothing is sent to it. Subscribe again once the endpoint is fixed.")


def _queued(subscription: Subscription, delivery: Delivery) -> web.Response:
    log = f"/cloud/webhooks/{subscription.id}/deliveries?project_id={subscription.project_id}"
    return _json(_QUEUED.dump({"delivery_id": delivery.id, "event_id": delivery.event_id,
                               "event_type": delivery.type}), 202, {"Location": log})


async def list_deliveries(request: web.Request) -> web.Response:
    """The subscription's latest delivery attempts, newest first; ``Link: rel=next`` pages on."""
    webhooks, subscription, query = await _subscription(request, schema=_LOG_QUERY)
    attempts = await webhooks.deliveries.attempts(subscription.project_id, subscription.id,
                                                  query["limit"] + 1, query.get("marker"))
    page, more = attempts[:query["limit"]], len(attempts) > query["limit"]
    headers = {}
    if more:
        url = request.url.with_query({**request.query, "marker": page[-1]["id"]})
        headers["Link"] = f'<{url.path_qs}>; rel="next"'
    return _json(_ATTEMPTS.dump(page), headers=headers)
