"""Serving a helper's aiohttp app on a port the kernel picks, its URL written to a file once it
listens (no port chosen first and bound later: another process could take it in between)."""
import asyncio
import signal
import ssl
from pathlib import Path

from aiohttp import web


async def serve_until_stopped(app: web.Application, port_file: Path, host: str = "127.0.0.1",
                              port: int = 0, tls: ssl.SSLContext | None = None) -> None:
    """Serve ``app`` until SIGTERM or SIGINT; its URL goes to ``port_file`` once listening."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls)
    await site.start()
    port_file.write_text(f"{'https' if tls else 'http'}://{host}:{runner.addresses[0][1]}\n")
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()
