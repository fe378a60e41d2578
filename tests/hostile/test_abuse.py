"""Abuse of volume and redirects against the running stack (issue 10 §5).

The stack runs with the defaults: GATEWAY_WAIT_MAX_PER_USER=4, WEBHOOK_MAX_BODY_BYTES=16384,
GATEWAY_RETURN_URL_ORIGINS = the cinema's origin and the loopback on any port. The webhook
rate limits are proven with small limits on a gateway of the test's own, reached from several
source addresses (tests/unit/gateway/test_webhook_intake_limits.py): at the stack's 600 a
minute a flood's outcome would depend on how fast this machine answers.
"""

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.stack.conftest import Stack, User

WAIT_PER_USER = int(os.environ.get("GATEWAY_WAIT_MAX_PER_USER", "4"))
PROVIDER_LATENCY_MS = 4000  # nothing settles sooner: a request answered before was not held
WEBHOOK_MAX = int(os.environ.get("WEBHOOK_MAX_BODY_BYTES", "16384"))


def _pay(stack: Stack, user: User, return_url: str) -> tuple[str, dict[str, object], dict]:
    headers = {**user.headers, "Idempotency-Key": str(uuid.uuid4())}
    return (
        f"{stack.gateway}/api/v1/payments",
        {"plan_id": "monthly", "return_url": return_url},
        headers,
    )


@pytest.mark.parametrize(
    "return_url",
    [
        "https://evil.example/thanks",
        "https://cinema.example.evil.example/",
        "https://cinema.example@evil.example/",
        "http://cinema.example/",
        "https://cinema.example:8443/",
        "https://localhost/",
    ],
)
async def test_a_return_url_outside_the_allowed_origins_is_refused_and_stores_nothing(
    http: httpx.AsyncClient, stack: Stack, user: User, return_url: str
) -> None:
    url, body, headers = _pay(stack, user, return_url)

    response = await http.post(url, json=body, headers=headers)
    listed = await http.get(url, headers=user.headers)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "return_url_not_allowed"
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    "return_url", ["https://cinema.example/thanks", "http://localhost:3000/back"]
)
async def test_a_return_url_on_an_allowed_origin_is_accepted(
    http: httpx.AsyncClient, stack: Stack, user: User, return_url: str
) -> None:
    url, body, headers = _pay(stack, user, return_url)

    response = await http.post(url, json=body, headers=headers)

    assert response.status_code in (201, 202), response.text


def _notification(padding: int) -> bytes:
    body = {
        "type": "notification",
        "event": "payment.succeeded",
        "object": {"id": f"hostile-{uuid.uuid4()}", "status": "succeeded", "pad": "x" * padding},
    }
    return json.dumps(body).encode()


async def test_a_webhook_over_its_own_size_limit_gets_413(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    """Well under the API's 64 KiB, over the webhook's limit: a notification is never this big."""
    raw = _notification(WEBHOOK_MAX)

    response = await http.post(
        f"{stack.gateway}/api/v1/webhooks/yookassa",
        content=raw,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413, response.text


@pytest.fixture
async def slow_provider(http: httpx.AsyncClient, stack: Stack) -> AsyncIterator[None]:
    response = await http.post(
        f"{stack.provider}/sandbox/faults", json={"latency_ms": PROVIDER_LATENCY_MS}
    )
    response.raise_for_status()
    yield
    await http.delete(f"{stack.provider}/sandbox/faults")


async def test_one_user_cannot_hold_more_than_its_share_of_waiting_requests(
    http: httpx.AsyncClient, stack: Stack, user: User, slow_provider: None
) -> None:
    async def pay_and_wait() -> tuple[int, float, bool]:
        url, body, headers = _pay(stack, user, "https://cinema.example/wait")
        started = time.monotonic()
        response = await http.post(url, json=body, headers={**headers, "Prefer": "wait=10"})
        applied = "Preference-Applied" in response.headers
        return response.status_code, time.monotonic() - started, applied

    answers = await asyncio.gather(*(pay_and_wait() for _ in range(WAIT_PER_USER + 2)))

    at_once = [a for a in answers if a[1] < PROVIDER_LATENCY_MS / 1000 - 0.5]
    assert len(at_once) >= 2, answers
    assert all(status == 202 and not applied for status, _, applied in at_once), answers
    assert {status for status, _, _ in answers} <= {201, 202}, answers
