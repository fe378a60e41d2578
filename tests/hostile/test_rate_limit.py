"""POST endpoints are rate-limited per user: 429 with Retry-After, and only for that user.

The limit is GATEWAY_RATE_LIMIT_PER_MINUTE (a bucket of that many); the burst repeats one
Idempotency-Key, so at most one payment is ever created.
"""

import asyncio
import os
import uuid

import httpx

from tests.e2e.fixtures import new_user
from tests.stack.conftest import Stack, User

LIMIT = int(os.environ.get("GATEWAY_RATE_LIMIT_PER_MINUTE", "600"))
BATCH = 50


async def _burst_until_429(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> httpx.Response | None:
    key = str(uuid.uuid4())
    body = {"plan_id": "monthly", "return_url": "https://cinema.example/"}
    headers = {**user.headers, "Idempotency-Key": key}
    for _ in range(0, LIMIT + 2 * BATCH, BATCH):
        batch = await asyncio.gather(
            *(
                http.post(f"{stack.gateway}/api/v1/payments", json=body, headers=headers)
                for _ in range(BATCH)
            )
        )
        limited = [r for r in batch if r.status_code == 429]
        if limited:
            return limited[0]
    return None


async def test_a_burst_over_the_limit_gets_429_with_retry_after_for_that_user_only(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    limited = await _burst_until_429(http, stack, user)

    assert limited is not None, f"no 429 within {LIMIT + 2 * BATCH} requests"
    assert limited.json()["error"]["code"]
    assert int(limited.headers["Retry-After"]) >= 1
    other = await new_user(http, stack)
    response = await http.post(
        f"{stack.gateway}/api/v1/payments",
        json={"plan_id": "monthly", "return_url": "https://cinema.example/"},
        headers={**other.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code in (201, 202), response.text
