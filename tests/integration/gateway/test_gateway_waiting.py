"""`Prefer: wait` is woken by the outbox's NOTIFY, not a poll, and is bounded (issue 10 §5).

Nothing consumes the private commands topic here, so a payment settles only when the test
moves it, as a processor would: the UPDATE and `NOTIFY billing_outbox` in one transaction.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import FastAPI
from gateway_it_support import Client, GatewayFactory, bearer

from gateway.payments import is_settled
from gateway.repository import settled_payments
from schemas import ids

BODY = {"plan_id": "monthly", "return_url": "https://cinema.test/back"}
CHECKOUT = "https://pay.test/checkout/waited"


async def _pay(client: Client, user: uuid.UUID, key: str, wait: int) -> tuple[int, float, dict]:
    started = time.monotonic()
    headers = bearer(user) | {"Idempotency-Key": key, "Prefer": f"wait={wait}"}
    response = await client.post("/api/v1/payments", headers=headers, json=BODY)
    return response.status_code, time.monotonic() - started, dict(response.headers)


async def _settle(db: asyncpg.Pool, payment_id: uuid.UUID) -> None:
    await db.execute(
        "UPDATE payments_history.payments SET status = 'pending', confirmation_url = $2"
        " WHERE id = $1",
        payment_id,
        CHECKOUT,
    )


async def test_a_waiting_request_wakes_on_the_notification_and_not_before(
    make_gateway: GatewayFactory, user: uuid.UUID, db: asyncpg.Pool
) -> None:
    # A channel of its own: on the shared stack other outbox commits wake billing_outbox anytime.
    channel = f"test_wait_{uuid.uuid4().hex[:12]}"
    client = await make_gateway(gateway_wait_channel=channel)
    key = f"wait-{uuid.uuid4()}"
    request = asyncio.create_task(_pay(client, user, key, wait=8))
    await asyncio.sleep(0.5)

    await _settle(db, ids.payment_id(user, key))  # settled, but nobody said so
    await asyncio.sleep(1.5)
    still_waiting = not request.done()
    await db.execute(f"NOTIFY {channel}")
    status, took, headers = await asyncio.wait_for(request, 5)

    assert still_waiting, "the wait ended without a notification: it is polling"
    assert status == 201 and headers["preference-applied"] == "wait=8"
    assert took < 4, f"answered {took:.1f}s after the request, not at the notification"


async def test_waiting_requests_beyond_the_per_user_bound_are_answered_at_once(
    make_gateway: GatewayFactory, user: uuid.UUID
) -> None:
    client = await make_gateway(gateway_wait_max_per_user=2, gateway_wait_max_total=100)

    answers = await asyncio.gather(*(_pay(client, user, str(uuid.uuid4()), 2) for _ in range(5)))

    held = [took for status, took, _ in answers if took >= 1.9]
    at_once = [took for status, took, _ in answers if took < 1.0]
    assert {status for status, _, _ in answers} == {202}
    assert (len(held), len(at_once)) == (2, 3), answers
    assert all("preference-applied" not in headers for _, _, headers in answers)


async def test_waiting_requests_beyond_the_total_bound_are_answered_at_once(
    make_gateway: GatewayFactory,
) -> None:
    client = await make_gateway(gateway_wait_max_per_user=5, gateway_wait_max_total=3)
    users = [uuid.uuid4() for _ in range(6)]

    answers = await asyncio.gather(*(_pay(client, u, str(uuid.uuid4()), 2) for u in users))

    held = [took for _, took, _ in answers if took >= 1.9]
    assert len(held) == 3, answers
    assert {status for status, _, _ in answers} == {202}


async def test_a_wake_reads_back_only_the_waited_for_payments_that_settled(
    client: Client, user: uuid.UUID, db: asyncpg.Pool
) -> None:
    keys = [f"settle-{n}-{uuid.uuid4()}" for n in range(3)]
    for key in keys:
        response = await client.post(
            "/api/v1/payments", headers=bearer(user) | {"Idempotency-Key": key}, json=BODY
        )
        assert response.status_code == 202, response.text
    moving, paged, canceled = (ids.payment_id(user, key) for key in keys)
    await _settle(db, paged)
    await db.execute(
        "UPDATE payments_history.payments SET status = 'canceled' WHERE id = $1", canceled
    )

    async with db.acquire() as conn:
        rows = await settled_payments(conn, [moving, paged, canceled, uuid.uuid4()])

    assert {row["payment_id"] for row in rows} == {paged, canceled}
    assert all(is_settled(row) for row in rows)
    assert not is_settled(await db.fetchrow(_ROW, moving)), "the still-moving row is settled"


_ROW = "SELECT status, confirmation_url FROM payments_history.payments WHERE id = $1"


async def test_a_notification_about_another_payment_wakes_no_re_read(
    make_served: Callable[..., Awaitable[tuple[FastAPI, Client]]],
    user: uuid.UUID,
    db: asyncpg.Pool,
) -> None:
    channel = f"test_wait_{uuid.uuid4().hex[:12]}"
    app, client = await make_served(gateway_wait_channel=channel)
    reads = _count_calls(app.state.services.waiters, "_resolve_settled")
    key = f"wait-{uuid.uuid4()}"
    request = asyncio.create_task(_pay(client, user, key, wait=8))
    await asyncio.sleep(0.5)
    await _settle(db, ids.payment_id(user, key))
    before = len(reads)

    await db.execute("SELECT pg_notify($1, $2)", channel, str(uuid.uuid4()))
    await db.execute("SELECT pg_notify($1, $2)", channel, f"{uuid.uuid4()},{uuid.uuid4()}")
    await asyncio.sleep(1.0)
    after_other = len(reads)
    held = f"{uuid.uuid4()},{ids.payment_id(user, key)}"
    await db.execute("SELECT pg_notify($1, $2)", channel, held)
    status, _, headers = await asyncio.wait_for(request, 5)

    assert before >= 1, "the wait did not look once when it started"
    assert after_other == before, "a notification about another payment re-read the waits"
    assert status == 201 and headers["preference-applied"] == "wait=8"


def _count_calls(waiters: Any, name: str) -> list[None]:
    calls: list[None] = []
    original = getattr(waiters, name)

    async def counted() -> None:
        calls.append(None)
        await original()

    setattr(waiters, name, counted)
    return calls
