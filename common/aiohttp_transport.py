"""An httpx transport on aiohttp's connection pool, for the consumers' calls to Auth and
Notifications, the provider sandbox's webhooks and the bench's load generator.

httpx's own transport (httpcore 1.0) scans every pooled connection, with a socket check each,
on every request start and end: O(connections) per call (`bench.http_clients` measures it).
aiohttp's `TCPConnector` hands out a kept-alive connection in O(1) and never reuses one the
server closed or one idle longer than `KEEPALIVE_S`, which is below the servers' keep-alive.
The callers keep httpx's API, its exceptions and `httpx.MockTransport` in their tests; only
the wire under it changes.

Bodies are read whole (the services answer small JSON objects) and handed to httpx still
encoded: httpx decodes `Content-Encoding` itself, so aiohttp's decompression is off.
"""

import aiohttp
import httpx

_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


# A kept-alive connection is given up after this many idle seconds: well before uvicorn's
# 5 s (its default, which our services and sandboxes keep). aiohttp's own default is 15 s: a
# connection idle 5–15 s was reused while the server was closing it, and the request failed
# with "Server disconnected" (seen in `make bench` on a loaded box).
KEEPALIVE_S = 2.0


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int = 100, keepalive_s: float = KEEPALIVE_S) -> None:
        self._max_connections = max_connections
        self.keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None  # made on the first call's loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            async with self._session_now().request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=await request.aread() or None,
                timeout=_timeout(request),
                allow_redirects=False,
            ) as response:
                body = await response.read()
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"no answer in time ({exc!r})", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.RemoteProtocolError(
                f"{type(exc).__name__}: {exc}", request=request
            ) from exc
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
        return httpx.Response(response.status, headers=headers, content=body, request=request)

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=self.keepalive_s
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                skip_auto_headers=_NO_AUTO_HEADERS,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    """httpx's per-request timeouts (connect/read/write/pool) as aiohttp's."""
    t = request.extensions.get("timeout") or {}
    return aiohttp.ClientTimeout(
        total=None, connect=t.get("pool"), sock_connect=t.get("connect"), sock_read=t.get("read")
    )
