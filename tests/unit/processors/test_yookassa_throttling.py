"""A 429 from the provider is retried no sooner than its ``Retry-After`` asks."""

import time
import uuid

import httpx
import pytest

from processors.errors import ProviderUnavailable
from processors.provider.throttling import retry_after_s
from processors.provider.yookassa import RetryPolicy, make_client

FAST = RetryPolicy(attempts=3, timeout_s=1.0, backoff_s=0.001)


def client(handler):  # type: ignore[no-untyped-def]
    return make_client(
        "http://provider", "100500", "secret", FAST, transport=httpx.MockTransport(handler)
    )


def too_many(retry_after: str) -> httpx.Response:
    body = {
        "type": "error",
        "id": str(uuid.uuid4()),
        "code": "too_many_requests",
        "description": "Too many requests",
    }
    return httpx.Response(429, json=body, headers={"Retry-After": retry_after})


async def test_429_waits_for_retry_after_then_succeeds() -> None:
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return too_many("1")
        return httpx.Response(200, json={"id": "p1", "status": "pending"})

    await client(handler).get_payment("p1")
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 1.0


async def test_429_still_throttled_is_unavailable_not_rejected() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return too_many("0")

    with pytest.raises(ProviderUnavailable):
        await client(handler).get_payment("p1")


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "2"}, {}, 2.0),
        ({}, {"retry_after": 1500}, 1.5),
        ({"Retry-After": "soon"}, {}, None),
        ({"Retry-After": "100000"}, {}, 60.0),
        ({}, {}, None),
    ],
)
def test_retry_after_is_read_from_header_or_body_and_capped(
    headers: dict[str, str], body: dict[str, object], expected: float | None
) -> None:
    response = httpx.Response(429, json=body, headers=headers)
    assert retry_after_s(response) == expected
