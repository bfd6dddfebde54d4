"""An issuer's keys: discovery, the refetch bound for unknown kids, failures logged once while the
cached keys stay in force, and a bearer file read again when it changes. The documents come from a
scripted fetcher (the HTTP is the edge's, tested against a real issuer in tests/service)."""
import json
import logging

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from app.access.access_file import Issuer
from app.access.issuer_keys import REFETCH_AFTER, FetchError, IssuerKeys

ISSUER = "https://idp.example.com"


def jwk(kid: str) -> dict:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    return {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public)), "kid": kid, "alg": "ES256"}


class ScriptedIssuer:
    """Answers discovery and the JWKS from what the test set; records each call's bearer."""

    def __init__(self) -> None:
        self.keys = [jwk("k1")]
        self.down = False
        self.calls: list[tuple[str, str | None]] = []

    async def __call__(self, url, *, ca_file=None, bearer=None):
        self.calls.append((url, bearer))
        if self.down:
            raise FetchError(f"{url}: connection refused")
        if url.endswith("/.well-known/openid-configuration"):
            return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/keys"}
        return {"keys": self.keys}


def issuer(**fields) -> Issuer:
    return Issuer(**{"issuer": ISSUER, "audience": "api", "jwks_uri": None, "algorithms": ("ES256",),
                     "ca_file": None, "token_file": None, **fields})


async def test_unknown_kids_refetch_at_most_once_per_interval_and_a_new_key_is_found():
    now, source = [100.0], ScriptedIssuer()
    keys = IssuerKeys(issuer(), source, clock=lambda: now[0])

    first = await keys.key("k1")
    source.keys.append(jwk("k2"))
    found = await keys.key("k2")
    flood = [await keys.key(f"forged-{n}") for n in range(20)]
    now[0] += REFETCH_AFTER
    later = await keys.key("forged-again")

    assert first is not None and found is not None and flood == [None] * 20 and later is None
    urls = [url for url, _ in source.calls]
    assert urls == [f"{ISSUER}/.well-known/openid-configuration", f"{ISSUER}/keys",  # the first fetch
                    f"{ISSUER}/keys",  # k2
                    f"{ISSUER}/keys"]  # 30 s on, one more for a forged kid


async def test_an_issuer_down_keeps_the_cached_keys_and_is_logged_once_until_it_is_back(caplog):
    now, source = [100.0], ScriptedIssuer()
    keys = IssuerKeys(issuer(jwks_uri=f"{ISSUER}/keys"), source, clock=lambda: now[0])
    await keys.refresh()
    source.down = True
    caplog.set_level(logging.INFO)

    for _ in range(3):
        now[0] += REFETCH_AFTER
        assert not await keys.refresh()
    cached = await keys.key("k1")
    source.down = False
    now[0] += REFETCH_AFTER
    back = await keys.refresh()

    messages = [r.getMessage() for r in caplog.records]
    assert cached is not None and back and keys.error is None
    assert len([m for m in messages if "cannot fetch the keys" in m]) == 1
    assert len([m for m in messages if "fetched the keys of issuer" in m]) == 1


async def test_the_bearer_file_is_read_again_when_the_kubelet_rotates_it(tmp_path):
    token_file, source = tmp_path / "token", ScriptedIssuer()
    token_file.write_text("first-token\n")
    keys = IssuerKeys(issuer(jwks_uri=f"{ISSUER}/keys", token_file=token_file), source)

    await keys.refresh()
    token_file.write_text("second-token-longer\n")
    await keys.refresh()

    assert [bearer for _, bearer in source.calls] == ["first-token", "second-token-longer"]


async def test_an_https_issuer_whose_discovery_names_a_plain_http_jwks_is_refused():
    source = ScriptedIssuer()

    async def downgraded(url, *, ca_file=None, bearer=None):
        if url.endswith("/.well-known/openid-configuration"):
            return {"issuer": ISSUER, "jwks_uri": "http://idp.example.com/keys"}
        return await source(url)

    keys = IssuerKeys(issuer(), downgraded)

    assert not await keys.refresh() and "not https" in keys.error and await keys.key("k1") is None
