"""Replays say so (`Idempotent-Replayed: true`), the request id reaches the command's Kafka
headers and the row, and a key whose text the retention clean-up dropped still replays."""

import uuid

import asyncpg
from gateway_it_support import Client, TopicTail, about

from billing_cli.keys import expire_keys

RETURN_URL = "https://cinema.test/after-payment"
BODY = {"plan_id": "monthly", "return_url": RETURN_URL}


def keyed(headers: dict[str, str], key: str, request_id: str | None = None) -> dict[str, str]:
    extra = {"X-Request-ID": request_id} if request_id else {}
    return headers | {"Idempotency-Key": key} | extra


async def test_a_replay_says_so_and_the_first_answer_does_not(
    client: Client, headers: dict[str, str]
) -> None:
    key = f"key-{uuid.uuid4()}"
    first = await client.post("/api/v1/payments", headers=keyed(headers, key), json=BODY)
    again = await client.post("/api/v1/payments", headers=keyed(headers, key), json=BODY)
    assert (first.status_code, again.status_code) == (202, 202)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["payment_id"] == first.json()["payment_id"]


async def test_the_request_id_travels_in_the_commands_kafka_headers_and_onto_the_row(
    client: Client, headers: dict[str, str], commands: TopicTail, db: asyncpg.Pool
) -> None:
    start = await commands.snapshot()
    request_id = f"req-{uuid.uuid4().hex}"
    key = f"key-{uuid.uuid4()}"
    response = await client.post(
        "/api/v1/payments", headers=keyed(headers, key, request_id), json=BODY
    )
    assert response.status_code == 202
    assert response.headers["X-Request-ID"] == request_id
    payment_id = uuid.UUID(response.json()["payment_id"])
    [(_, command)] = about(await commands.since(start), "payment_id", payment_id)
    assert ("x-request-id", request_id.encode()) in commands.headers[command.message_id]
    stored = await db.fetchval(
        "SELECT request_id FROM payments_history.payments WHERE id = $1", payment_id
    )
    assert stored == request_id


async def test_a_key_past_retention_still_finds_its_payment_and_never_makes_a_second(
    client: Client, headers: dict[str, str], db: asyncpg.Pool
) -> None:
    key = f"key-{uuid.uuid4()}"
    first = await client.post("/api/v1/payments", headers=keyed(headers, key), json=BODY)
    payment_id = uuid.UUID(first.json()["payment_id"])
    await db.execute(
        "UPDATE payments_history.payments SET status = 'canceled',"
        " created_at = now() - interval '25 hours' WHERE id = $1",
        payment_id,
    )
    async with db.acquire() as conn:
        expired = await expire_keys(conn, retention_hours=24)
    assert expired.payments >= 1
    text = await db.fetchval(
        "SELECT idempotency_key FROM payments_history.payments WHERE id = $1", payment_id
    )
    assert text != key
    late = await client.post("/api/v1/payments", headers=keyed(headers, key), json=BODY)
    assert late.status_code == 202
    assert late.json()["payment_id"] == str(payment_id)
    assert late.headers["Idempotent-Replayed"] == "true"
    other = await client.post(
        "/api/v1/payments", headers=keyed(headers, key), json=BODY | {"plan_id": "yearly"}
    )
    assert other.status_code == 422


async def test_the_clean_up_leaves_keys_inside_retention_and_unfinished_payments_alone(
    client: Client, headers: dict[str, str], db: asyncpg.Pool
) -> None:
    recent, unfinished = f"key-{uuid.uuid4()}", f"key-{uuid.uuid4()}"
    ids_ = {}
    for key in (recent, unfinished):
        response = await client.post("/api/v1/payments", headers=keyed(headers, key), json=BODY)
        ids_[key] = uuid.UUID(response.json()["payment_id"])
    await db.execute(
        "UPDATE payments_history.payments SET status = 'canceled',"
        " created_at = now() - interval '23 hours 50 minutes' WHERE id = $1",
        ids_[recent],
    )
    await db.execute(
        "UPDATE payments_history.payments SET created_at = now() - interval '30 days'"
        " WHERE id = $1",
        ids_[unfinished],
    )
    async with db.acquire() as conn:
        await expire_keys(conn, retention_hours=24)
    for key, payment_id in ids_.items():
        text = await db.fetchval(
            "SELECT idempotency_key FROM payments_history.payments WHERE id = $1", payment_id
        )
        assert text == key
