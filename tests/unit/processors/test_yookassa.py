"""The provider client's wire format and error translation, against a loopback stand-in."""

import asyncio
import base64
import uuid
from decimal import Decimal

import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from provider_server import provider_client

from common import logs
from processors.errors import ProviderNotFound, ProviderRejected, ProviderUnavailable
from processors.provider.yookassa import RetryPolicy

FAST = RetryPolicy(attempts=4, timeout_s=1.0, backoff_s=0.001)
PENDING = {"id": "p1", "status": "pending"}


async def test_create_payment_speaks_yookassa_v3_with_our_idempotence_key() -> None:
    seen: list[tuple[web.Request, dict[str, object]]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request, await request.json()))
        return web.json_response(PENDING)

    payment_id, user_id = uuid.uuid4(), uuid.uuid4()
    async with provider_client(handler, FAST) as client:
        await client.create_payment(payment_id, user_id, Decimal("499"), "RUB", "https://b")
    [(request, body)] = seen
    assert request.method == "POST" and request.path == "/v3/payments"
    assert request.headers["Idempotence-Key"] == f"billing-payment-{payment_id}"
    assert request.headers["Content-Type"] == "application/json"
    authorization = request.headers["Authorization"]
    assert authorization == "Basic " + base64.b64encode(b"100500:secret").decode()
    assert body["amount"] == {"value": "499.00", "currency": "RUB"}
    assert body["capture"] is True
    assert body["confirmation"] == {"type": "redirect", "return_url": "https://b"}
    assert body["metadata"] == {"payment_id": str(payment_id), "user_id": str(user_id)}


async def test_transient_errors_are_retried_with_the_same_key() -> None:
    """A timeout (the provider did the work, the answer never came), then a 503, then the
    object: three attempts, one key."""
    keys: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        keys.append(request.headers["Idempotence-Key"])
        if len(keys) == 1:
            await asyncio.sleep(0.5)  # past the client's 0.2 s timeout
        if len(keys) == 2:
            return web.Response(status=503, text="busy")
        return web.json_response(PENDING)

    policy = RetryPolicy(attempts=4, timeout_s=0.2, backoff_s=0.001)
    async with provider_client(handler, policy) as client:
        obj = await client.create_payment(uuid.uuid4(), uuid.uuid4(), Decimal(1), "RUB", "u")
    assert obj.id == "p1"
    assert len(keys) == 3 and len(set(keys)) == 1


async def test_a_refused_connection_is_unavailable_after_every_attempt() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(PENDING)

    async with provider_client(handler, FAST) as client:
        pass  # the server is gone once the block ends; the client still points at its port
    with pytest.raises(ProviderUnavailable, match="connection_error"):
        await client.get_payment("p1")
    await client.aclose()


async def test_still_failing_after_the_last_attempt_is_unavailable() -> None:
    calls = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(1)
        return web.json_response({"type": "error"}, status=429)

    async with provider_client(handler, FAST) as client:
        with pytest.raises(ProviderUnavailable):
            await client.get_payment("p1")
    assert len(calls) == 4


async def test_a_non_json_answer_is_unavailable_not_a_crash() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="<html>gateway</html>")

    async with provider_client(handler, RetryPolicy(attempts=1)) as client:
        with pytest.raises(ProviderUnavailable, match="non-JSON"):
            await client.get_payment("p1")


async def test_a_4xx_is_rejected_at_once_and_404_is_not_found() -> None:
    calls = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(1)
        if request.path.endswith("/missing"):
            return web.json_response({"type": "error", "code": "not_found"}, status=404)
        body = {"type": "error", "code": "invalid_request", "description": "bad amount"}
        return web.json_response(body, status=400)

    async with provider_client(handler, FAST) as client:
        with pytest.raises(ProviderNotFound):
            await client.get_payment("missing")
        with pytest.raises(ProviderRejected, match="bad amount"):
            await client.create_refund(uuid.uuid4(), "p1", Decimal("1.00"), "RUB")
    assert len(calls) == 2


async def test_the_provider_call_carries_the_request_id() -> None:
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request)
        return web.json_response(PENDING)

    async with provider_client(handler, RetryPolicy(attempts=1)) as client:
        with logs.record_context("billing.commands.v1", 0, 1, [("x-request-id", b"from-gw")]):
            await client.get_payment("p1")
        await asyncio.sleep(0)
        await client.get_payment("p1")
    assert seen[0].headers["X-Request-ID"] == "from-gw"
    assert "X-Request-ID" not in seen[1].headers


async def test_every_attempt_is_counted_by_operation_and_result() -> None:
    def count(code: str) -> float:
        labels = {"service": "provider", "operation": "GET /v3/refunds/{id}", "code": code}
        return REGISTRY.get_sample_value("billing_outbound_requests_total", labels) or 0.0

    answers = iter([web.Response(status=502), web.json_response(PENDING | {"payment_id": "x"})])

    async def handler(request: web.Request) -> web.Response:
        return next(answers)

    before = count("502"), count("200")
    async with provider_client(handler, FAST) as client:
        await client.get_refund(str(uuid.uuid4()))
    assert (count("502"), count("200")) == (before[0] + 1, before[1] + 1)


async def test_list_refunds_asks_by_payment_and_passes_the_cursor_on() -> None:
    """YooKassa's refund list (`GET /v3/refunds?payment_id=…`): a page, then the next."""
    seen: list[dict[str, str]] = []
    ours = uuid.uuid4()

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        if "cursor" not in request.query:
            item = {"id": "r2", "status": "succeeded", "description": "Goodwill"}
            return web.json_response({"type": "list", "items": [item], "next_cursor": "c1"})
        item = {"id": "r1", "status": "pending", "description": f"Refund {ours}"}
        return web.json_response({"type": "list", "items": [item]})

    async with provider_client(handler, FAST) as client:
        first, cursor = await client.list_refunds("p1")
        second, last = await client.list_refunds("p1", cursor)
    asked = {"payment_id": "p1", "limit": "100"}
    assert seen == [asked, asked | {"cursor": "c1"}]
    assert ([r.our_refund_id for r in first], cursor) == ([None], "c1")
    assert ([r.our_refund_id for r in second], last) == ([ours], None)
