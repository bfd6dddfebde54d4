"""``python -m emulator``: serve an emulated OpenStack cloud on 127.0.0.1."""
import argparse
import asyncio
import json
import logging
import os
import signal
from pathlib import Path

from aiohttp import web

from .config import EmulatorConfig
from .emulator_app import create_app
from .faults import Faults
from .json_logs import log_json_lines
from .seeding import access_document, clouds_yaml, seed_project
from .state_keys import CLOUD

logger = logging.getLogger("emulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--port-file", type=Path,
                        help="write the base URL here once listening (for scripts and tests)")
    parser.add_argument("--build-delay", type=float, default=3.0, help="seconds BUILD lasts")
    parser.add_argument("--action-delay", type=float, default=1.0,
                        help="seconds a stop, start or reboot takes")
    parser.add_argument("--delete-delay", type=float, default=1.0,
                        help="seconds a delete takes")
    parser.add_argument("--build-error-rate", type=float, default=0.0,
                        help="share of builds that end in ERROR")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime, seconds")
    parser.add_argument("--max-limit", type=int, default=1000, help="Nova's max_limit page size")
    parser.add_argument("--quota-instances", type=int, default=10, help="instances per project")
    parser.add_argument("--seed-projects", type=int, default=0, help="demo projects to create")
    parser.add_argument("--seed-servers", type=int, default=0, help="servers in each demo project")
    parser.add_argument("--clouds-yaml", type=Path, help="write the demo projects' clouds.yaml here")
    parser.add_argument("--random-seed", type=int, help="make ids and build outcomes reproducible")
    parser.add_argument("--latency", type=float, default=0.0, help="added to every service call")
    parser.add_argument("--error-rate", type=float, default=0.0,
                        help="share of service calls answered 500")
    parser.add_argument("--faults", type=json.loads, default=None, metavar="JSON",
                        help='cloud-wide faults, as the control API takes them: '
                             '\'{"throttle_count": 3, "retry_after": 2}\'')
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument("--without-cinder", action="store_true",
                        help="leave Cinder out of the catalog (a cloud without block storage)")
    parser.add_argument("--resize-confirm-window", type=float, default=0.0,
                        help="seconds until a resize confirms itself, as Nova's option (0: never)")
    parser.add_argument("--consoles", default="vnc,serial",
                        help="the remote console protocols Nova offers, comma-separated")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The emulator configuration the flags describe."""
    return EmulatorConfig(
        build_delay=args.build_delay, delete_delay=args.delete_delay,
        action_delay=args.action_delay,
        build_error_rate=args.build_error_rate, token_ttl=args.token_ttl,
        max_limit=args.max_limit, quota_instances=args.quota_instances,
        random_seed=args.random_seed, with_cinder=not args.without_cinder,
        consoles=tuple(p.strip() for p in args.consoles.split(",") if p.strip()),
        resize_confirm_window=args.resize_confirm_window)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


async def serve(args: argparse.Namespace) -> None:
    """Listen until SIGINT or SIGTERM."""
    faults = None
    if args.faults or args.latency or args.error_rate:
        settings = {"latency": args.latency, "error_rate": args.error_rate, **(args.faults or {})}
        faults = Faults.from_json(settings)
    app = create_app(config_from_args(args), faults)
    cloud = app[CLOUD]
    accesses = [seed_project(cloud, f"demo-{n}", args.seed_servers)
                for n in range(1, args.seed_projects + 1)]
    runner = web.AppRunner(app, access_log=logger if args.verbose else None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    host, port = runner.addresses[0][:2]
    base_url = f"http://{host}:{port}"
    if args.clouds_yaml:
        entries = {a.project.name: access_document(a, f"{base_url}/v3", cloud.config.region)["cloud"]
                   for a in accesses}
        _write_atomically(args.clouds_yaml, clouds_yaml(entries))
    if args.port_file:
        _write_atomically(args.port_file, base_url + "\n")
    logger.info("OpenStack emulator listening on %s (Keystone: %s/v3), %d demo projects",
                base_url, base_url, len(accesses))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m emulator`` and ``openstack-emulator``."""
    args = parse_args(argv)
    log_json_lines()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
