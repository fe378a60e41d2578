"""aiohttp sessions for our outbound HTTP: the processors' calls to the payment provider
(`processors.provider.http`), the consumers' calls to Auth and Notifications
(`consumers.outbound`), the provider sandbox's webhooks and the bench's load generator.

httpx's own pool (httpcore 1.0) scans every pooled connection, with a socket check each, on
every request start and end: O(connections) per call (`bench.http_clients` measures it); and
httpx's API on top of aiohttp's pool cost as much CPU per call as aiohttp itself
(docs/performance.md, round 11). aiohttp's `TCPConnector` hands out a kept-alive connection
in O(1) and never reuses one the server closed or one idle longer than `KEEPALIVE_S`, which
is below the servers' keep-alive.
"""

from typing import Any

import aiohttp

# A kept-alive connection is given up after this many idle seconds: well before uvicorn's
# 5 s (its default, which our services and sandboxes keep). aiohttp's own default is 15 s: a
# connection idle 5–15 s was reused while the server was closing it, and the request failed
# with "Server disconnected" (seen in `make bench` on a loaded box).
KEEPALIVE_S = 2.0


def new_session(
    max_connections: int = 100, keepalive_s: float = KEEPALIVE_S, **options: Any
) -> aiohttp.ClientSession:
    """A session on a pool of its own (`max_connections` at once) that keeps no cookies;
    `options` go to `aiohttp.ClientSession` (headers, timeout, skip_auto_headers, ...).
    Made inside the event loop that will use it."""
    connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=keepalive_s)
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), **options
    )
