"""``python -m devtools.receiver``: a webhook receiver for development, on 127.0.0.1.

It verifies each delivery with ``standardwebhooks`` (the spec's own library) against the
secret in ``WEBHOOK_SECRET`` and prints one line per delivery: verified or rejected.
"""
import argparse
import json
import os
import sys

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

PATH = "/dev-receiver"


def receiver_app(secret: str) -> web.Application:
    """The receiver: 200 for a delivery that verifies, 400 for one that does not."""
    verifier = Webhook(secret)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = verifier.verify(body, dict(request.headers))
        except WebhookVerificationError as error:
            print(f"REJECTED {request.headers.get('webhook-id', '?')}: {error}", flush=True)
            return web.Response(status=400, text="signature does not verify")
        server = (event.get("data") or {}).get("server") or {}
        print(f"verified {event['type']} {event['id']} at {event['timestamp']}"
              f"{' server ' + server['id'] + ' ' + str(server.get('status')) if server.get('id') else ''}: "
              f"{json.dumps(event['data'], separators=(',', ':'))[:300]}", flush=True)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post(PATH, receive)
    return app


def main() -> None:
    """Serve on 127.0.0.1:<port> until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    secret = os.environ.get("WEBHOOK_SECRET")
    if not secret:
        sys.exit("WEBHOOK_SECRET is required: the subscription's whsec_ secret")
    web.run_app(receiver_app(secret), host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
