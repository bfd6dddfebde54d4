"""Webhooks: subscriptions, their encrypted secrets, signed deliveries and the delivery log."""
