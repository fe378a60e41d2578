"""POST endpoints are rate-limited per user: 429 with Retry-After, and only for that user.

The bucket refills with PostgreSQL's clock since its `updated_at` (gateway/ratelimit.py), so
a burst that races the refill proves nothing on a busy box: 700 requests that take a minute
never empty a bucket of 600 that refills 10 a second. The test therefore dates the user's
bucket an hour ahead with TOKENS tokens: nothing refills during the burst however slowly it
runs, and exactly TOKENS POSTs may pass, whichever gateway instance (`make up SCALE=2`
shares port 8000) answers each. The refill itself is proven with a given clock in
tests/integration/gateway/test_shared_rate_limit.py. The burst repeats one
Idempotency-Key, so at most one payment is ever created.
"""

import asyncio
import uuid
from collections import Counter

import asyncpg
import httpx

from tests.e2e.fixtures import new_user
from tests.stack.conftest import Stack, User

TOKENS = 20
BURST = 60
_FREEZE = """
INSERT INTO payments_history.rate_limits (user_id, tokens, updated_at, allowed)
VALUES ($1, $2, clock_timestamp() + interval '1 hour', true)"""


async def _burst(http: httpx.AsyncClient, stack: Stack, user: User) -> list[httpx.Response]:
    body = {"plan_id": "monthly", "return_url": "https://cinema.example/"}
    headers = {**user.headers, "Idempotency-Key": str(uuid.uuid4())}
    return await asyncio.gather(
        *(
            http.post(f"{stack.gateway}/api/v1/payments", json=body, headers=headers)
            for _ in range(BURST)
        )
    )


async def test_a_burst_over_the_limit_gets_429_with_retry_after_for_that_user_only(
    http: httpx.AsyncClient, stack: Stack, user: User, db: asyncpg.Pool
) -> None:
    await db.execute(_FREEZE, user.id, TOKENS)

    answers = await _burst(http, stack, user)

    statuses = Counter(r.status_code for r in answers)
    passed = BURST - statuses[429] - statuses[503]
    # A 503 may come from the limiter (took no token: fails closed) or after it (took one).
    assert passed <= TOKENS, statuses
    assert BURST - TOKENS - statuses[503] <= statuses[429] <= BURST - TOKENS, statuses
    assert statuses[429] >= 1, statuses
    limited = next(r for r in answers if r.status_code == 429)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    other = await new_user(http, stack)
    response = await http.post(
        f"{stack.gateway}/api/v1/payments",
        json={"plan_id": "monthly", "return_url": "https://cinema.example/"},
        headers={**other.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code in (201, 202), response.text
