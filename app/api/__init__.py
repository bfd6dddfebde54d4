"""The HTTP edge: aiohttp handlers that load requests, call the domain and dump answers."""
