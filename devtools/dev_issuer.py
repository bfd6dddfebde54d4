"""A development OpenID issuer: serves discovery and a JWKS, and signs JWTs on request, with RSA
and EC keys it makes at start. For ``make run`` and the tests; loopback only, never for real use.

    python -m devtools.dev_issuer --port-file F [--host 127.0.0.1] [--jwks-bearer-file F]
                                  [--tls-cert F --tls-key F]

Endpoints: ``GET /.well-known/openid-configuration``, ``GET /jwks`` (with ``--jwks-bearer-file``,
only with that file's token, as the Kubernetes API server asks for one), and the development
controls ``POST /sign`` (``{"claims", "alg", "kid"}`` → ``{"token"}``), ``POST /rotate``
(``{"alg"}``: a new key, which signs from now on), ``GET /stats`` (fetches counted).
"""
import argparse
import asyncio
import json
import secrets
import ssl
import time
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .local_serving import serve_until_stopped

ALGORITHMS = ("RS256", "ES256")
KEYS = web.AppKey("keys", dict)  # alg -> list of (kid, private key), newest last
STATS = web.AppKey("stats", dict)
SETTINGS = web.AppKey("settings", dict)


def _new_key(algorithm: str) -> tuple[str, Any]:
    key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if algorithm == "RS256"
           else ec.generate_private_key(ec.SECP256R1()))
    return f"{algorithm.lower()}-{secrets.token_hex(4)}", key


def _public_jwk(algorithm: str, kid: str, key: Any) -> dict[str, Any]:
    algorithm_class = jwt.algorithms.RSAAlgorithm if algorithm == "RS256" else jwt.algorithms.ECAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm_class.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


def _issuer(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def discovery(request: web.Request) -> web.Response:
    """The OpenID configuration: where the keys are."""
    request.app[STATS]["discovery"] += 1
    return web.json_response({"issuer": _issuer(request), "jwks_uri": f"{_issuer(request)}/jwks",
                              "id_token_signing_alg_values_supported": list(ALGORITHMS)})


async def jwks(request: web.Request) -> web.Response:
    """The public keys, every generation of them."""
    bearer_file = request.app[SETTINGS].get("jwks_bearer_file")
    wanted = f"Bearer {Path(bearer_file).read_text().strip()}" if bearer_file else None
    if wanted is not None and request.headers.get("Authorization") != wanted:
        request.app[STATS]["refused"] += 1
        return web.json_response({"message": "Unauthorized"}, status=401)
    request.app[STATS]["jwks"] += 1
    keys = [_public_jwk(algorithm, kid, key) for algorithm, generations in request.app[KEYS].items()
            for kid, key in generations]
    return web.json_response({"keys": keys})


async def sign(request: web.Request) -> web.Response:
    """A token for the claims given (``iss`` defaults to this issuer, ``iat`` and ``exp`` to now
    and an hour on), signed with the newest key of ``alg`` (or the key ``kid``)."""
    body = await request.json()
    algorithm = body.get("alg", "RS256")
    generations = request.app[KEYS][algorithm]
    kid, key = next(((k, v) for k, v in generations if k == body.get("kid")), generations[-1])
    now = int(time.time())
    claims = {"iss": _issuer(request), "iat": now, "exp": now + 3600, **body.get("claims", {})}
    headers = {"kid": body.get("header_kid", kid)}
    return web.json_response({"token": jwt.encode(claims, key, algorithm=algorithm, headers=headers)})


async def rotate(request: web.Request) -> web.Response:
    """A new key for ``alg``, which signs from now on (the old ones stay in the JWKS)."""
    algorithm = (await request.json()).get("alg", "RS256")
    kid, key = _new_key(algorithm)
    request.app[KEYS][algorithm].append((kid, key))
    return web.json_response({"kid": kid})


async def stats(request: web.Request) -> web.Response:
    """How often discovery and the JWKS were fetched (and refused)."""
    return web.json_response(request.app[STATS])


def issuer_app(jwks_bearer_file: str | None = None) -> web.Application:
    """The issuer's app, with a fresh key of each algorithm."""
    app = web.Application()
    app[KEYS] = {algorithm: [_new_key(algorithm)] for algorithm in ALGORITHMS}
    app[STATS] = {"discovery": 0, "jwks": 0, "refused": 0}
    app[SETTINGS] = {"jwks_bearer_file": jwks_bearer_file}
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/jwks", jwks)
    app.router.add_post("/sign", sign)
    app.router.add_post("/rotate", rotate)
    app.router.add_get("/stats", stats)
    return app


async def serve(arguments: argparse.Namespace) -> None:
    """Serve until SIGTERM or SIGINT; the URL goes to the port file once listening."""
    tls = None
    if arguments.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(arguments.tls_cert, arguments.tls_key)
    await serve_until_stopped(issuer_app(arguments.jwks_bearer_file), arguments.port_file,
                              arguments.host, arguments.port, tls)


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m devtools.dev_issuer", description=__doc__)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--jwks-bearer-file", help="serve the JWKS only with this file's token")
    parser.add_argument("--tls-cert", help="serve https with this certificate (PEM)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    asyncio.run(serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
