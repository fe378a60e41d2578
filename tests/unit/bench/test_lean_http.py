"""The load generator's lean client answers the flow helpers as httpx does, against a real
HTTP server on loopback."""

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bench.lean_http import LeanClient, StatusError
from tests.stack import flows
from tests.stack.conftest import Stack, new_user


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    seen = {
        "method": request.method,
        "path": request.path,
        "query": dict(request.query),
        "auth": request.headers.get("Authorization"),
        "body": json.loads(body) if body else None,
        "cookie": request.headers.get("Cookie"),
    }
    status = int(request.query.get("status", "200"))
    headers = {"Set-Cookie": "session=1"}
    if request.path == "/api/v1/token":
        seen = {"access_token": "t0k", **seen}
    return web.json_response(seen, status=status, headers=headers)


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_get_sends_params_and_headers_and_reads_the_json(base_url: str) -> None:
    async with LeanClient() as http:
        answer = await http.get(f"{base_url}/x", params={"after": 7}, headers={"A": "b"})
    assert answer.status_code == 200
    assert answer.json()["query"] == {"after": "7"}
    assert answer.raise_for_status() is answer


async def test_a_4xx_raises_on_raise_for_status_with_the_body(base_url: str) -> None:
    async with LeanClient() as http:
        answer = await http.get(f"{base_url}/y", params={"status": 409})
    assert answer.status_code == 409
    with pytest.raises(StatusError, match="HTTP 409"):
        answer.raise_for_status()


async def test_the_flow_helpers_work_through_it_and_no_cookie_is_kept(base_url: str) -> None:
    stack = Stack(gateway=base_url, provider=base_url, auth=base_url, notify=base_url)
    async with LeanClient() as http:
        user = await new_user(http, stack)
        assert user.headers == {"Authorization": "Bearer t0k"}
        payment = await flows.get_payment(http, stack, user, "p1")
    assert payment["method"] == "GET" and payment["path"] == "/api/v1/payments/p1"
    assert payment["auth"] == "Bearer t0k"
    assert payment["cookie"] is None  # the server set one on the token call
    posted = await _post(base_url)
    assert posted["body"] == {"plan_id": "monthly"}


async def _post(base_url: str) -> dict[str, object]:
    async with LeanClient() as http:
        answer = await http.post(f"{base_url}/p", json={"plan_id": "monthly"})
    result: dict[str, object] = answer.json()
    return result
