"""Webhooks as the development tools set them up: a fresh sealing key, and plain http to
receivers on 127.0.0.1 allowed."""
from pathlib import Path

from app.webhooks.secret_box import generate_key

# Development stacks (``make run``, ``make chaos``) deliver over http to receivers on 127.0.0.1.
LOCAL_DELIVERY = {"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"}


def write_webhook_keys(path: Path) -> Path:
    """A new key that seals webhook secrets, written owner-only at ``path``; its absolute path."""
    path.write_text(generate_key() + "\n")
    path.chmod(0o600)
    return path.resolve()
