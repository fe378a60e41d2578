"""Same-key races, with the interleaving forced through PostgreSQL (issue 10 §3b).

Under load two identical payment requests can meet inside PostgreSQL's INSERT: the twin has
already placed its primary-key entry (the id is derived from the same user and key) but not
yet its `(user_id, idempotency_key)` entry. The test holds a connection in exactly that
state — a row with the payment's id whose key is not yet the request's — and lets it become
the twin's row while the gateway's insert waits on it. The gateway must answer with that
row, as it would for any replay, never with a unique violation.
"""

import asyncio
import time
import uuid

import asyncpg
from gateway_it_support import Client

from gateway.models import CreatePaymentBody, fingerprint
from schemas import ids

BODY = {"plan_id": "monthly", "return_url": "https://cinema.test/race"}


async def _wait_until_blocked(db: asyncpg.Pool, holder_pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        blocked = await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE $1 = ANY(pg_blocking_pids(pid)) AND query LIKE '%INSERT INTO%payments%'",
            holder_pid,
        )
        if blocked:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the gateway's insert never waited on the twin's row")


async def _twin_in_flight(conn: asyncpg.Connection, user: uuid.UUID, key: str) -> uuid.UUID:
    """Inside an open transaction: the twin's row, primary key placed, key not yet its own."""
    payment_id = ids.payment_id(user, key)
    fp = fingerprint(CreatePaymentBody(**BODY).fingerprint_fields())
    await conn.execute(
        "INSERT INTO payments_history.payments (id, user_id, plan_id, amount, currency,"
        " idempotency_key, request_fingerprint, return_url)"
        " SELECT $1, $2, id, amount, currency, $3, $4, $5"
        " FROM payments_history.plans WHERE id = $6",
        payment_id,
        user,
        f"in-flight-{uuid.uuid4()}",
        fp,
        BODY["return_url"],
        BODY["plan_id"],
    )
    return payment_id


async def test_a_payment_racing_its_twin_inside_the_insert_gets_the_twins_payment(
    client: Client, headers: dict[str, str], user: uuid.UUID, db: asyncpg.Pool
) -> None:
    key = f"race-{uuid.uuid4()}"
    twin = await db.acquire()
    try:
        transaction = twin.transaction()
        await transaction.start()
        payment_id = await _twin_in_flight(twin, user, key)
        request = asyncio.create_task(
            client.post("/api/v1/payments", headers=headers | {"Idempotency-Key": key}, json=BODY)
        )
        await _wait_until_blocked(db, twin.get_server_pid())
        await twin.execute(
            "UPDATE payments_history.payments SET idempotency_key = $1 WHERE id = $2",
            key,
            payment_id,
        )
        await transaction.commit()
        response = await request
    finally:
        await db.release(twin)
        await db.execute("DELETE FROM payments_history.payments WHERE user_id = $1", user)

    assert response.status_code == 202, response.text
    assert response.json()["payment_id"] == str(payment_id)
