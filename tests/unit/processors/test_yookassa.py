"""The provider client's wire format and error translation, over httpx.MockTransport."""

import json
import uuid
from decimal import Decimal

import httpx
import pytest

from processors.errors import ProviderNotFound, ProviderRejected, ProviderUnavailable
from processors.provider.yookassa import RetryPolicy, make_client

FAST = RetryPolicy(attempts=4, timeout_s=1.0, backoff_s=0.001)


def client(handler):  # type: ignore[no-untyped-def]
    return make_client(
        "http://provider", "100500", "secret", FAST, transport=httpx.MockTransport(handler)
    )


async def test_create_payment_speaks_yookassa_v3_with_our_idempotence_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "p1", "status": "pending"})

    payment_id, user_id = uuid.uuid4(), uuid.uuid4()
    await client(handler).create_payment(payment_id, user_id, Decimal("499"), "RUB", "https://b")
    [request] = seen
    body = json.loads(request.content)
    assert request.url.path == "/v3/payments"
    assert request.headers["Idempotence-Key"] == f"billing-payment-{payment_id}"
    assert request.headers["Authorization"].startswith("Basic ")
    assert body["amount"] == {"value": "499.00", "currency": "RUB"}
    assert body["capture"] is True
    assert body["confirmation"] == {"type": "redirect", "return_url": "https://b"}
    assert body["metadata"] == {"payment_id": str(payment_id), "user_id": str(user_id)}


async def test_transient_errors_are_retried_with_the_same_key() -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotence-Key"])
        if len(keys) == 1:
            raise httpx.ReadTimeout("hung after commit", request=request)
        if len(keys) == 2:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json={"id": "p1", "status": "pending"})

    obj = await client(handler).create_payment(uuid.uuid4(), uuid.uuid4(), Decimal(1), "RUB", "u")
    assert obj.id == "p1"
    assert len(keys) == 3 and len(set(keys)) == 1


async def test_still_failing_after_the_last_attempt_is_unavailable() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, json={"type": "error"})

    with pytest.raises(ProviderUnavailable):
        await client(handler).get_payment("p1")
    assert len(calls) == 4


async def test_a_4xx_is_rejected_at_once_and_404_is_not_found() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if request.url.path.endswith("/missing"):
            return httpx.Response(404, json={"type": "error", "code": "not_found"})
        return httpx.Response(
            400, json={"type": "error", "code": "invalid_request", "description": "bad amount"}
        )

    with pytest.raises(ProviderNotFound):
        await client(handler).get_payment("missing")
    with pytest.raises(ProviderRejected, match="bad amount"):
        await client(handler).create_refund(uuid.uuid4(), "p1", Decimal("1.00"), "RUB")
    assert len(calls) == 2
