"""A 429 from the provider is retried no sooner than its ``Retry-After`` asks."""

import json
import time
import uuid

import pytest
from aiohttp import web
from provider_server import provider_client

from processors.errors import ProviderUnavailable
from processors.provider.http import HttpAnswer
from processors.provider.throttling import retry_after_s
from processors.provider.yookassa import RetryPolicy

FAST = RetryPolicy(attempts=3, timeout_s=1.0, backoff_s=0.001)


def too_many(retry_after: str) -> web.Response:
    body = {
        "type": "error",
        "id": str(uuid.uuid4()),
        "code": "too_many_requests",
        "description": "Too many requests",
    }
    return web.json_response(body, status=429, headers={"Retry-After": retry_after})


async def test_429_waits_for_retry_after_then_succeeds() -> None:
    calls: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return too_many("1")
        return web.json_response({"id": "p1", "status": "pending"})

    async with provider_client(handler, FAST) as client:
        await client.get_payment("p1")
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 1.0


async def test_429_still_throttled_is_unavailable_not_rejected() -> None:
    calls = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(1)
        return too_many("0")

    async with provider_client(handler, FAST) as client:
        with pytest.raises(ProviderUnavailable, match="429"):
            await client.get_payment("p1")
    assert len(calls) == 3


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
    response = HttpAnswer(429, headers, json.dumps(body).encode())
    assert retry_after_s(response) == expected
