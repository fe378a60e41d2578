"""The provider client's connection pool (aiohttp's, `processors/provider/http.py`) keeps its
promises on a real socket: keep-alive reuse, the connection limit, and never reusing a
connection the server closed."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from common.http_session import KEEPALIVE_S
from processors.provider.http import ProviderHttp


class CountingServer:
    """A minimal HTTP/1.1 server that counts TCP connections; `close_after` silently closes
    each one after that many responses, like a server whose keep-alive timer ran out."""

    def __init__(self, close_after: int | None = None, delay_s: float = 0.0) -> None:
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.close_after = close_after
        self.delay_s = delay_s
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        served = 0
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                served += 1
                await asyncio.sleep(self.delay_s)
                last = self.close_after is not None and served >= self.close_after
                # no "Connection: close": the client learns it only from the socket (EOF)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                if last:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator:
    servers: list[asyncio.Server] = []

    async def start(counter: CountingServer) -> str:
        server = await asyncio.start_server(counter.handle, "127.0.0.1", 0)
        servers.append(server)
        counter.port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{counter.port}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def _client(base: str, max_connections: int) -> AsyncIterator[ProviderHttp]:
    http = ProviderHttp(base, "Basic eDp5", max_connections, timeout_s=5)
    try:
        yield http
    finally:
        await http.aclose()


async def _get(http: ProviderHttp) -> str:
    answer = await http.send("GET", "/", None, {})
    assert answer.status == 200
    return answer.text


async def test_sequential_requests_reuse_one_kept_alive_connection(serve) -> None:  # type: ignore[no-untyped-def]
    counter = CountingServer()
    async with _client(await serve(counter), 8) as http:
        for _ in range(50):
            assert await _get(http) == "ok"
    assert counter.connections == 1


async def test_concurrent_requests_never_exceed_the_connection_limit(serve) -> None:  # type: ignore[no-untyped-def]
    counter = CountingServer(delay_s=0.01)
    async with _client(await serve(counter), 4) as http:
        answers = await asyncio.gather(*(_get(http) for _ in range(40)))
    assert answers == ["ok"] * 40
    assert counter.most_open <= 4
    assert counter.connections <= 4


async def test_a_connection_the_server_silently_closed_is_not_reused(serve) -> None:  # type: ignore[no-untyped-def]
    counter = CountingServer(close_after=1)
    async with _client(await serve(counter), 8) as http:
        for _ in range(5):
            assert await _get(http) == "ok"
            await asyncio.sleep(0.01)
    assert counter.connections == 5


async def test_a_connection_idle_past_the_shared_keep_alive_is_not_reused(serve) -> None:  # type: ignore[no-untyped-def]
    """The pool gives up an idle connection after `common.http_session.KEEPALIVE_S`, before
    a uvicorn-like server (5 s) closes it: reusing one at that moment races the close, and
    a payment's call fails with "Server disconnected" and has to be retried."""
    counter = CountingServer()
    async with _client(await serve(counter), 8) as http:
        assert await _get(http) == "ok"
        await asyncio.sleep(KEEPALIVE_S + 0.5)
        assert await _get(http) == "ok"
    assert counter.connections == 2
