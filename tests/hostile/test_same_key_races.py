"""Identical requests racing each other with one Idempotency-Key: one resource, one answer.

Issue 10 §3: concurrent identical payments answered 500 (a unique violation on the primary
key that the `ON CONFLICT (user_id, idempotency_key)` target did not cover), and the twin of
a concurrent refund answered 409/422 because it counted its own twin's reservation.
"""

import asyncio
import uuid
from typing import Any

import httpx

from tests.stack.conftest import Stack, User

TWINS = 24


def _summary(responses: list[httpx.Response]) -> list[tuple[int, str]]:
    return sorted({(r.status_code, r.text[:120]) for r in responses})


async def test_concurrent_identical_payments_all_get_the_same_payment(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    body = {"plan_id": "monthly", "return_url": "https://cinema.example/race"}
    headers = {**user.headers, "Idempotency-Key": f"race-{uuid.uuid4()}"}

    responses = await asyncio.gather(
        *(
            http.post(f"{stack.gateway}/api/v1/payments", json=body, headers=headers)
            for _ in range(TWINS)
        )
    )

    assert {r.status_code for r in responses} <= {201, 202}, _summary(responses)
    assert len({r.json()["payment_id"] for r in responses}) == 1


async def test_concurrent_identical_refunds_all_get_the_same_refund(
    http: httpx.AsyncClient, stack: Stack, user: User, paid_payment: dict[str, Any]
) -> None:
    url = f"{stack.gateway}/api/v1/payments/{paid_payment['payment_id']}/refunds"
    headers = {**user.headers, "Idempotency-Key": f"race-{uuid.uuid4()}"}

    responses = await asyncio.gather(
        *(http.post(url, json={}, headers=headers) for _ in range(TWINS))
    )

    assert {r.status_code for r in responses} == {202}, _summary(responses)
    assert len({r.json()["refund_id"] for r in responses}) == 1
    assert responses[0].json()["amount"] == paid_payment["amount"]


async def test_concurrent_refunds_with_one_key_reserve_once(
    http: httpx.AsyncClient, stack: Stack, user: User, paid_payment: dict[str, Any]
) -> None:
    """Twins each asking for all the policy gives: one refund exists and every twin gets it
    (no 409 from counting the twin's reservation); another key finds nothing left (409)."""
    url = f"{stack.gateway}/api/v1/payments/{paid_payment['payment_id']}/refunds"
    headers = {**user.headers, "Idempotency-Key": f"race-{uuid.uuid4()}"}
    body: dict[str, Any] = {}

    responses = await asyncio.gather(
        *(http.post(url, json=body, headers=headers) for _ in range(8))
    )
    other = await http.post(
        url, json=body, headers={**user.headers, "Idempotency-Key": str(uuid.uuid4())}
    )

    assert {r.status_code for r in responses} == {202}, _summary(responses)
    assert len({r.json()["refund_id"] for r in responses}) == 1
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "nothing_to_refund"
