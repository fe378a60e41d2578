"""common.http_session: aiohttp's pool as our programs use it, tested on a loopback socket."""

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from aiohttp import web
from aiohttp.test_utils import TestServer

from common.http_session import KEEPALIVE_S, new_session

Seen = list[object]  # the peer (client address and port) of each request, in order


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Seen]]:
    seen: Seen = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request.transport.get_extra_info("peername") if request.transport else None)
        response = web.json_response({"ok": request.path})
        if request.path == "/cookie":
            response.set_cookie("session", "1")
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield str(test_server.make_url("")).rstrip("/"), seen
    await test_server.close()


async def test_sequential_calls_reuse_one_connection(server: tuple[str, Seen]) -> None:
    base, seen = server
    async with new_session() as session:
        for _ in range(5):
            async with session.get(f"{base}/x") as response:
                assert await response.json() == {"ok": "/x"}
    assert len(set(seen)) == 1


def test_a_kept_alive_connection_is_dropped_before_uvicorn_closes_it() -> None:
    """uvicorn closes an idle connection after `timeout_keep_alive`; reusing one near that
    moment races the close ("Server disconnected"). The pool gives it up well before."""
    uvicorn_closes_after = uvicorn.Config(app=None).timeout_keep_alive
    assert KEEPALIVE_S <= uvicorn_closes_after / 2


async def test_an_idle_connection_past_its_keep_alive_is_not_reused(
    server: tuple[str, Seen],
) -> None:
    base, seen = server
    async with new_session(keepalive_s=0.2) as session:
        for path, pause in (("/first", 0.0), ("/soon", 0.6), ("/later", 0.0)):
            async with session.get(f"{base}{path}") as response:
                await response.read()
            await asyncio.sleep(pause)
    first, soon, later = seen
    assert first == soon
    assert later != first


async def test_no_cookie_is_kept(server: tuple[str, Seen]) -> None:
    """A service's cookie would otherwise ride along with every later call to it."""
    base, _ = server
    async with new_session() as session:
        async with session.get(f"{base}/cookie") as response:
            await response.read()
        assert len(session.cookie_jar) == 0
