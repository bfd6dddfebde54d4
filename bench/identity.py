"""What identifying a caller costs in the API process's own terms: a static token's check, a JWT's
first verification (signature and claims), and a JWT's later requests (its cached caller); one
event loop, no HTTP, the same code the API runs."""
import asyncio
import functools
import time
from pathlib import Path

import aiohttp

from app.access.access_file import parse_access_file
from app.access.jwt_verifier import JwtVerifier
from app.access.reloading_file import ReloadingFile
from app.access.tokens import TokenRegistry
from app.api.key_fetching import KeyFetcher
from devtools.issuer_client import IssuerProcess

CALLS, FIRST_VERIFICATIONS = 20_000, 200


def measure_identity(tokens_file: Path, static_token: str, access_file: Path, issuer: IssuerProcess,
                     subject: str, audience: str) -> dict[str, float]:
    """Microseconds per call of each way of identifying a caller."""
    fresh = [issuer.sign(sub=subject, aud=audience, jti=str(n)) for n in range(FIRST_VERIFICATIONS)]
    return asyncio.run(_measure(tokens_file, static_token, access_file, fresh))


async def _measure(tokens_file: Path, static_token: str, access_file: Path,
                   fresh: list[str]) -> dict[str, float]:
    tokens = TokenRegistry(tokens_file)
    policy = ReloadingFile(access_file, functools.partial(parse_access_file, allow_http=True), "access file")
    async with aiohttp.ClientSession() as session:
        jwts = JwtVerifier(policy, KeyFetcher(session))
        assert await jwts.verify(fresh[0]) is not None  # the keys fetched, as at the API's start
        began = time.perf_counter()
        for _ in range(CALLS):
            tokens.authenticate(static_token)
        static = time.perf_counter() - began
        began = time.perf_counter()
        for token in fresh[1:]:
            await jwts.verify(token)
        first = time.perf_counter() - began
        began = time.perf_counter()
        for _ in range(CALLS):
            await jwts.verify(fresh[0])
        cached = time.perf_counter() - began
    return {"static_us": static / CALLS * 1e6, "jwt_first_us": first / (len(fresh) - 1) * 1e6,
            "jwt_cached_us": cached / CALLS * 1e6}
