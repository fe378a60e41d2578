"""common.aiohttp_transport: httpx's API on aiohttp's pool, tested on a loopback socket."""

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from aiohttp import web
from aiohttp.test_utils import TestServer

from common.aiohttp_transport import AiohttpTransport

Seen = list[tuple[web.Request, bytes, object]]


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Seen]]:
    seen: Seen = []

    async def handler(request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen.append((request, await request.read(), peer))
        if request.path == "/slow":
            await asyncio.sleep(1)
        if request.path == "/gzip":
            body = gzip.compress(json.dumps({"zipped": True}).encode())
            headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
            return web.Response(body=body, headers=headers)
        return web.json_response({"ok": request.path}, status=201, headers={"X-Answer": "42"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield str(test_server.make_url("")).rstrip("/"), seen
    await test_server.close()


async def test_a_request_and_its_answer_cross_unchanged(server: tuple[str, Seen]) -> None:
    base, seen = server
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        response = await client.post(
            f"{base}/api/v1/users/7/roles", json={"role": "x"}, headers={"X-Request-ID": "r1"}
        )
    assert response.status_code == 201
    assert response.json() == {"ok": "/api/v1/users/7/roles"}
    assert response.headers["x-answer"] == "42"
    [(request, body, _)] = seen
    assert request.method == "POST"
    assert request.headers["X-Request-ID"] == "r1"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"role": "x"}


async def test_a_compressed_answer_is_decoded_once(server: tuple[str, Seen]) -> None:
    base, _ = server
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        assert (await client.get(f"{base}/gzip")).json() == {"zipped": True}


async def test_sequential_calls_reuse_one_connection(server: tuple[str, Seen]) -> None:
    base, seen = server
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        for _ in range(5):
            assert (await client.get(f"{base}/x")).status_code == 201
    assert len({peer for _, _, peer in seen}) == 1


async def test_no_answer_in_time_is_httpx_timeout(server: tuple[str, Seen]) -> None:
    base, _ = server
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=0.2) as client:
        with pytest.raises(httpx.TimeoutException):
            await client.get(f"{base}/slow")


async def test_a_refused_connection_is_httpx_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{port}/")


def test_a_kept_alive_connection_is_dropped_before_uvicorn_closes_it() -> None:
    """uvicorn closes an idle connection after `timeout_keep_alive`; reusing one near that
    moment races the close ("Server disconnected"). The pool gives it up well before."""
    uvicorn_closes_after = uvicorn.Config(app=None).timeout_keep_alive
    assert AiohttpTransport().keepalive_s <= uvicorn_closes_after / 2


async def test_an_idle_connection_past_its_keep_alive_is_not_reused(
    server: tuple[str, Seen],
) -> None:
    base, seen = server
    async with httpx.AsyncClient(transport=AiohttpTransport(keepalive_s=0.2)) as client:
        await client.get(f"{base}/first")
        await client.get(f"{base}/soon")
        await asyncio.sleep(0.6)
        await client.get(f"{base}/later")
    first, soon, later = (peer for _, _, peer in seen)
    assert first == soon
    assert later != first
