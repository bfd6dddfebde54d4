"""Serving the app: aiohttp's runner, with what its HTTP parser rejects answered as a problem.

aiohttp answers a request its parser cannot read (a bad header byte, an oversized header, an
unknown method, TLS bytes on the plain port…) from ``RequestHandler.handle_error``, before any
handler (and the edge that wraps it) runs. Its own answer echoes the offending line (a bearer
token with it), names the library versions and is logged as a traceback. There is no public
hook for that answer (aiohttp issues #3287 and #9882), so this module subclasses the handler;
``setup.cfg`` pins aiohttp's minor version and ``tests/service/test_malformed_http.py`` holds the
behaviour with raw bytes.
"""
import json
import logging
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod
from aiohttp.web_protocol import RequestHandler

from .appkeys import HTTP_METRICS, SETTINGS
from .problems import PROBLEM_TYPE

logger = logging.getLogger(__name__)
SERVER_NAME = "cloud-servers-api"


class ProblemRequestHandler(RequestHandler):
    """aiohttp's connection handler, but its own error answers are problem documents that echo
    nothing of the request, and a malformed request is one line without a traceback, counted
    by ``on_rejected``."""

    on_rejected: Callable[[int], None] = staticmethod(lambda status: None)

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None, message: str | None = None) -> web.StreamResponse:
        request_id = uuid.uuid4().hex
        self.on_rejected(status)
        if status >= 500:  # a failure of ours (handlers answer their own errors: should not happen)
            logger.error("failed answering a request (request id %s)", request_id, exc_info=exc)
        elif isinstance(exc, BadHttpMethod):  # an unknown method, or TLS and other non-HTTP bytes
            logger.info("unknown method or not HTTP from %s, answered %d (request id %s)",
                        request.remote, status, request_id)
        else:  # never the parser's message: it quotes the offending header line
            logger.warning("malformed HTTP from %s answered %d: %s (request id %s)", request.remote,
                           status, type(exc).__name__, request_id)
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response")
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        body = {"type": "about:blank", "title": title, "status": status,
                "detail": "The request could not be read as HTTP." if status < 500
                else "The server failed to answer; the request id identifies it in the logs.",
                "instance": "/", "request_id": request_id}
        response = web.Response(status=status, text=json.dumps(body), content_type=PROBLEM_TYPE,
                                charset="utf-8",
                                headers={"X-Request-Id": request_id, "Server": SERVER_NAME,
                                         "Cache-Control": "no-store"})
        response.force_close()
        return response


class ProblemServer(web.Server):
    """A ``web.Server`` whose connections are served by ``ProblemRequestHandler``."""

    def __init__(self, *args: Any, on_rejected: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_rejected = on_rejected

    def __call__(self) -> RequestHandler:
        handler = ProblemRequestHandler(self, loop=self._loop, **self._kwargs)
        handler.on_rejected = self._on_rejected
        return handler


class ApiRunner(web.AppRunner):
    """The app's runner: its connections answer parser errors as problems, and stay open idle
    for the configured keep-alive timeout."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._handler_options: dict[str, Any] = {"keepalive_timeout": app[SETTINGS].keepalive_timeout,
                                 "access_log": None}  # the app logs its own access lines

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts the app: cleanup contexts open here
        unparsed = self.app[HTTP_METRICS].unparsed
        return ProblemServer(plain.request_handler, request_factory=plain.request_factory,
                             handler_cancellation=plain.handler_cancellation,
                             on_rejected=lambda status: unparsed.labels(str(status)).inc(),
                             **self._handler_options)
