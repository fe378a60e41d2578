"""A stand-in provider for the client's unit tests: an aiohttp server on a loopback port
whose every request goes to the test's handler, so the client is tested on the wire
(its real HTTP stack, headers, JSON, timeouts), with nothing of the sandbox behind it."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

from processors.provider.yookassa import RetryPolicy, YooKassaClient, make_client

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    """The base URL of a server answering every method and path with `handler`."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@asynccontextmanager
async def provider_client(handler: Handler, policy: RetryPolicy) -> AsyncIterator[YooKassaClient]:
    """`make_client` (shop 100500, key 'secret') talking to `handler`."""
    async with serving(handler) as base:
        client = make_client(base, "100500", "secret", policy)
        try:
            yield client
        finally:
            await client.aclose()
