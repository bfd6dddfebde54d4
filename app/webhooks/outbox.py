"""The webhooks capability as its users take it: subscriptions, deliveries, fan-out, destinations."""
from dataclasses import dataclass

from .deliveries import DeliveryStore
from .destinations import DestinationPolicy
from .dispatch import Dispatcher
from .subscriptions import SubscriptionStore


@dataclass(frozen=True)
class Webhooks:
    """Everything the webhook handlers and the webhook sender work with."""

    subscriptions: SubscriptionStore
    deliveries: DeliveryStore
    dispatcher: Dispatcher
    destinations: DestinationPolicy
