"""`POST /api/v1/payments` takes the usual request's arguments itself (`gateway.presolved`) and
leaves every other request to FastAPI: the answers must not depend on which of the two
handled it. A JSON body sent as `application/json; charset=utf-8` is always FastAPI's, so
each request below is sent both ways and the two answers compared, headers included."""

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from gateway_unit_support import TokenFactory

from gateway.app import create_app
from gateway.deps import services
from gateway.models import CreatePaymentBody
from gateway.ratelimit import RateLimiter
from gateway.routes import payments
from gateway.settings import GatewaySettings

PRESOLVED = "application/json"
FASTAPI_ONLY = "application/json; charset=utf-8"
GOOD = b'{"plan_id": "monthly", "return_url": "https://cinema.example/back"}'
SUB = str(uuid.uuid4())


def _refused(token: str) -> list[tuple[dict[str, str], bytes]]:
    """Requests refused by the token, key or body checks (and in their order)."""
    good = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k1"}
    no_key = {"Authorization": f"Bearer {token}"}
    return [
        ({}, GOOD),  # no token
        ({"Authorization": "Bearer not.a.token", "Idempotency-Key": "k1"}, GOOD),
        (no_key, GOOD),
        ({**no_key, "Idempotency-Key": "bad\tkey"}, GOOD),
        ({**no_key, "Idempotency-Key": "k" * 256}, GOOD),
        (good, b'{"plan_id": '),  # not JSON
        (good, b""),
        (good, b"[]"),
        (good, b'{"plan_id": "monthly"}'),
        (good, b'{"plan_id": 5, "return_url": "https://cinema.test/back"}'),
        (good, b'{"plan_id": "monthly", "return_url": "ftp://cinema.test/back"}'),
        (good, GOOD[:-1] + b', "surprise": 1}'),  # extra="forbid"
        (good, b'{"plan_id": "\xff", "return_url": "https://cinema.test/back"}'),  # not UTF-8
        (good, b"[" * 2000),  # nested past the JSON parser's recursion limit: 2 KB
        ({}, b'{"plan_id": '),  # 401 before the body's 422
        (no_key, b"[]"),  # 400 before the body's 422
    ]


def _past_the_checks(token: str) -> list[tuple[dict[str, str], bytes]]:
    """Requests the endpoint runs for: its own 422, and PostgreSQL is not there (503)."""
    good = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k1"}
    return [
        (good, b'{"plan_id": "monthly", "return_url": "https://elsewhere.test/back"}'),
        (good, GOOD),
    ]


class Counted(RateLimiter):
    """Lets every POST through, counting the tokens taken."""

    taken = 0

    async def take(self, user_id: uuid.UUID, now: datetime | None = None) -> None:
        self.taken += 1


@pytest.fixture
async def counted(settings: GatewaySettings) -> AsyncIterator[tuple[httpx.AsyncClient, Counted]]:
    app = create_app(settings)
    svc = app.state.services
    limiter = Counted(1, svc.db)
    app.state.services = dataclasses.replace(svc, limiter=limiter)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http, limiter


async def _answer(client: httpx.AsyncClient, headers: dict[str, str], body: bytes, kind: str):  # type: ignore[no-untyped-def]
    headers = {**headers, "Content-Type": kind, "X-Request-ID": "parity"}
    response = await client.post("/api/v1/payments", headers=headers, content=body)
    return response.status_code, sorted(response.headers.multi_items()), response.content


async def test_a_post_gets_the_same_answer_and_takes_as_many_tokens_whichever_handler_takes_it(
    counted: tuple[httpx.AsyncClient, Counted], make_token: TokenFactory
) -> None:
    client, limiter = counted
    token = make_token(SUB)
    statuses = set()
    for headers, body in _refused(token) + _past_the_checks(token):
        before = limiter.taken
        presolved = await _answer(client, headers, body, PRESOLVED)
        taken = limiter.taken - before
        assert presolved == await _answer(client, headers, body, FASTAPI_ONLY), (headers, body)
        assert limiter.taken - before == 2 * taken <= 2, (headers, body)
        statuses.add(presolved[0])
    assert statuses == {400, 401, 422, 503}


async def test_so_does_a_post_whose_rate_limit_cannot_be_read(
    closed_client: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    # The token is taken before a 400 or 422 is answered: 503 instead, the bucket unread;
    # but for the body FastAPI cannot parse at all (too deep), whose 400 its handler answers.
    assert await _compared(closed_client, make_token(SUB)) == {400, 401, 503}


async def _compared(client: httpx.AsyncClient, token: str) -> set[int]:
    """The statuses of the requests, each answered alike both ways."""
    statuses = set()
    for headers, body in _refused(token) + _past_the_checks(token):
        presolved = await _answer(client, headers, body, PRESOLVED)
        assert presolved == await _answer(client, headers, body, FASTAPI_ONLY), (headers, body)
        statuses.add(presolved[0])
    return statuses


def _request(app: FastAPI, headers: dict[str, str], body: bytes) -> Request:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        chunk, sent = b"" if sent else body, True
        return {"type": "http.request", "body": chunk, "more_body": False}

    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    scope = {"type": "http", "method": "POST", "headers": raw, "app": app}
    return Request(scope, receive)


async def test_the_usual_post_is_presolved_and_anything_else_left_to_fastapi(
    settings: GatewaySettings, make_token: TokenFactory
) -> None:
    app = create_app(settings)
    route = next(r for r in payments.router.routes if isinstance(r, payments.CreatePaymentRoute))
    usual = {"Authorization": f"Bearer {make_token(SUB)}", "Idempotency-Key": "k1"}

    response = Response()
    arguments = await route.presolve(
        _request(app, {**usual, "Content-Type": PRESOLVED}, GOOD), response
    )
    assert arguments is not None
    assert arguments["body"] == CreatePaymentBody.model_validate_json(GOOD)
    assert (arguments["meter"].user_id, arguments["key"]) == (uuid.UUID(SUB), "k1")
    assert arguments["response"] is response
    for headers, body in _refused(make_token(SUB)):
        request = _request(app, {**headers, "Content-Type": PRESOLVED}, body)
        assert await route.presolve(request, Response()) is None, (headers, body)
    unusual = _request(app, {**usual, "Content-Type": FASTAPI_ONLY}, GOOD)
    assert await route.presolve(unusual, Response()) is None


async def test_a_read_by_its_payer_is_presolved(
    settings: GatewaySettings, make_token: TokenFactory
) -> None:
    app = create_app(settings)
    route = next(r for r in payments.router.routes if isinstance(r, payments.GetPaymentRoute))
    payment_id = uuid.uuid4()
    request = _request(app, {"Authorization": f"Bearer {make_token(SUB)}"}, b"")
    request.scope["path_params"] = {"payment_id": str(payment_id)}
    arguments = await route.presolve(request, Response())
    assert arguments == {"payment_id": payment_id, "request": request, "user_id": uuid.UUID(SUB)}
    request.scope["path_params"] = {"payment_id": "not-a-uuid"}
    assert await route.presolve(request, Response()) is None


async def test_a_payment_read_gets_the_same_answer_whichever_handler_takes_it(
    settings: GatewaySettings, make_token: TokenFactory
) -> None:
    """FastAPI's handler takes every request while the app has a dependency overridden."""
    app = create_app(settings)
    token = {"Authorization": f"Bearer {make_token(SUB)}", "X-Request-ID": "parity"}
    reads = [
        ({"X-Request-ID": "parity"}, uuid.uuid4()),
        ({"Authorization": "Bearer not.a.token", "X-Request-ID": "parity"}, uuid.uuid4()),
        (token, "not-a-uuid"),
        ({"X-Request-ID": "parity"}, "not-a-uuid"),  # 401 before 422
        (token, uuid.uuid4()),  # PostgreSQL is not there: 503
    ]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:

        async def answers() -> list[tuple[int, list[tuple[str, str]], bytes]]:
            responses = [
                await client.get(f"/api/v1/payments/{payment_id}", headers=headers)
                for headers, payment_id in reads
            ]
            return [(r.status_code, sorted(r.headers.multi_items()), r.content) for r in responses]

        presolved = await answers()
        app.dependency_overrides[services] = services
        assert presolved == await answers()
    assert [status for status, _, _ in presolved] == [401, 401, 422, 401, 503]
