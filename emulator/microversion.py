"""Nova's compute API microversions: parsing the request headers, stamping the answer."""
import re

from aiohttp import web

from .api_errors import ApiError

Microversion = tuple[int, int]
_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


def parse(text: str) -> Microversion:
    """``"2.53"`` -> ``(2, 53)``; 400 when malformed."""
    match = _FORMAT.match(text.strip())
    if not match:
        raise ApiError(400, f"API Version String {text} is of invalid format. "
                            "Must be of format MajorNum.MinorNum.")
    return int(match.group(1)), int(match.group(2))


def render(version: Microversion) -> str:
    """``(2, 53)`` -> ``"2.53"``."""
    return f"{version[0]}.{version[1]}"


def requested(request: web.Request, minimum: Microversion, maximum: Microversion) -> Microversion:
    """The microversion a request asks for (2.1 when none), or 400/406 as Nova answers."""
    text = None
    for item in request.headers.get("OpenStack-API-Version", "").split(","):
        service, _, value = item.strip().partition(" ")
        if service.lower() == "compute" and value:
            text = value.strip()
    text = text or request.headers.get("X-OpenStack-Nova-API-Version")
    if not text:
        return minimum
    if text.lower() == "latest":
        return maximum
    version = parse(text)
    if not minimum <= version <= maximum:
        raise ApiError(406, f"Version {text} is not supported by the API. "
                            f"Minimum is {render(minimum)} and maximum is {render(maximum)}.")
    return version


def stamp(response: web.StreamResponse, version: Microversion) -> None:
    """Add the headers with which Nova reports the microversion it used."""
    response.headers["OpenStack-API-Version"] = f"compute {render(version)}"
    response.headers["X-OpenStack-Nova-API-Version"] = render(version)
    response.headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
