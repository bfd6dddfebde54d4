"""``cloud-servers-api``: serve the API (the default), or the operator's commands:

    cloud-servers-api [serve]            (WEB_CONCURRENCY processes share PORT with SO_REUSEPORT)
    cloud-servers-api tokens add (--project P [--project Q] | --all-projects) [--name N]
                                 [--role reader|operator|editor] [--file F]
    cloud-servers-api tokens list [--file F]
    cloud-servers-api tokens revoke NAME [--file F]
    cloud-servers-api check-config [--authenticate]
"""
import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from .access.access_file import Issuer
from .access.issuer_keys import FetchError, IssuerKeys
from .access.roles import EDITOR, ROLES
from .access.token_file import add_token, list_tokens, revoke_token
from .access.tokens import TokenFileError
from .api.application import create_app
from .api.key_fetching import KeyFetcher
from .api.serving import ApiRunner
from .process.composition import open_api_services
from .process.config_check import ERROR, check_config
from .process.process_group import serve_processes
from .process.settings import Settings
from .process.startup import settings_and_logging

logger = logging.getLogger("app")


async def serve(settings: Settings, shared_port: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, then let requests in flight finish for the shutdown timeout;
    ``shared_port``: one of several processes bound to the port (``SO_REUSEPORT``)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = ApiRunner(create_app(settings, open_api_services), shutdown_timeout=settings.shutdown_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen_host, settings.port, reuse_port=shared_port).start()
        logger.info("serving on %s:%s (pid %d)", settings.listen_host, settings.port, os.getpid())
        await stop.wait()
    finally:
        await runner.cleanup()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloud-servers-api", description="The Cloud Servers API.")
    commands = parser.add_subparsers(dest="command")
    serving = commands.add_parser("serve", help="serve the API (the default)")
    serving.add_argument("--shared-port", action="store_true", help=argparse.SUPPRESS)
    check = commands.add_parser("check-config",
                                help="check the settings, clouds.yaml, the tokens and access files")
    check.add_argument("--authenticate", action="store_true",
                       help="also authenticate each project with Keystone, and fetch each "
                       "trusted issuer's keys")
    check.add_argument("--workers", action="store_true",
                       help="check as the workers read it (no tokens file needed)")
    tokens = commands.add_parser("tokens", help="manage the API tokens file").add_subparsers(
        dest="action", required=True)
    default_file = os.environ.get("API_TOKENS_FILE")
    for action in ("add", "list", "revoke"):
        sub = tokens.add_parser(action)
        sub.add_argument("--file", type=Path, default=default_file, required=default_file is None,
                         help="the tokens file (default: $API_TOKENS_FILE)")
    add = tokens.choices["add"]
    scope = add.add_mutually_exclusive_group(required=True)
    scope.add_argument("--project", action="append", help="a project the token may use (repeatable)")
    scope.add_argument("--all-projects", action="store_true", help="every project")
    add.add_argument("--name", help="a name for logs and revoking (default: generated)")
    add.add_argument("--role", choices=ROLES, default=EDITOR,
                     help="reader: every GET; operator: also actions; editor (the default): also writes")
    tokens.choices["revoke"].add_argument("name")
    return parser


def _tokens(arguments: argparse.Namespace) -> int:
    try:
        if arguments.action == "add":
            name, token = add_token(arguments.file, None if arguments.all_projects else arguments.project,
                                    arguments.name, arguments.role)
            print(f"added {name}; the token, shown only now:\n{token}")
        elif arguments.action == "list":
            for entry in list_tokens(arguments.file):
                scope = entry["projects"]
                projects = scope if isinstance(scope, str) else ",".join(scope)
                print(f"{entry['name']}\t{projects}\t{entry['role']}\t{entry['created'] or '-'}")
        elif not revoke_token(arguments.file, arguments.name):
            print(f"no token named {arguments.name!r}", file=sys.stderr)
            return 1
        else:
            print(f"revoked {arguments.name}")
    except TokenFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _count_keys(issuer: Issuer) -> int:
    """How many signing keys ``issuer`` serves, fetched now as the API fetches them."""
    async def fetch() -> int:
        async with aiohttp.ClientSession() as session:
            keys = IssuerKeys(issuer, KeyFetcher(session))
            if not await keys.refresh():
                raise FetchError(keys.error)
            return keys.count

    return asyncio.run(fetch())


def _check(arguments: argparse.Namespace) -> int:
    findings = check_config(os.environ, serves_api=not arguments.workers,
                            authenticate=arguments.authenticate, count_keys=_count_keys)
    for level, message in findings:
        print(f"{level}: {message}", file=sys.stderr if level == ERROR else sys.stdout)
    return 1 if any(level == ERROR for level, _ in findings) else 0


def main(argv: list[str] | None = None) -> None:
    """Serve, or run an operator's command and exit with its status."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "tokens":
        sys.exit(_tokens(arguments))
    if arguments.command == "check-config":
        sys.exit(_check(arguments))
    settings = settings_and_logging(serves_api=True)
    if getattr(arguments, "shared_port", False):
        asyncio.run(serve(settings, shared_port=True))
    elif settings.web_concurrency > 1:
        sys.exit(serve_processes(settings.web_concurrency))
    else:
        asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
