"""`Outbound` through aiohttp's real pool against a server on loopback: what is sent, a
timeout, a refused connection, and a connection the server closed after its answer."""

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from consumers.errors import TransientError
from consumers.outbound import Outbound, send

SEEN: list[dict[str, str]] = []


async def _echo(request: web.Request) -> web.Response:
    SEEN.append(dict(request.headers))
    body = await request.read()
    return web.Response(body=body, content_type="application/json")


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.json_response({})


async def _closing(request: web.Request) -> web.Response:
    response = web.json_response({"closing": True})
    response.force_close()  # `Connection: close`: the kept-alive connection ends here
    return response


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    app = web.Application()
    app.router.add_post("/echo", _echo)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/closing", _closing)
    async with TestServer(app, host="127.0.0.1") as running:
        SEEN.clear()
        yield running


async def test_a_call_sends_its_json_with_a_user_agent_and_reads_the_answer(
    server: TestServer,
) -> None:
    async with Outbound(5.0) as client:
        reply = await send(client, "POST", str(server.make_url("/echo")), json={"role": "x"})
    assert reply.status == 200 and reply.json() == {"role": "x"}
    sent = SEEN[0]
    assert sent["Content-Type"] == "application/json"
    assert sent["Accept"] == "application/json"
    assert sent["User-Agent"].startswith("billing-consumers")


async def test_no_answer_in_time_is_transient(server: TestServer) -> None:
    async with Outbound(0.3) as client:
        with pytest.raises(TransientError, match="TimeoutError"):
            await send(client, "GET", str(server.make_url("/slow")))


async def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Outbound(2.0) as client:
        with pytest.raises(TransientError):
            await send(client, "GET", f"http://127.0.0.1:{port}/x")


async def test_a_connection_the_server_closed_is_not_reused(server: TestServer) -> None:
    async with Outbound(5.0) as client:
        for _ in range(3):
            reply = await send(client, "GET", str(server.make_url("/closing")))
            assert reply.json() == {"closing": True}
