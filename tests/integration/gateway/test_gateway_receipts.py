"""54-FZ at the door: the payment is stored with the receipt it will be sent with, for the
request's `email` or else the token's `email` claim; with neither, 422 and nothing happens."""

import json
import uuid
from typing import Any

import asyncpg
from gateway_it_support import Client, GatewayFactory, TopicTail, about, bearer

from schemas import ids

RETURN_URL = "https://cinema.test/after-payment"


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return headers | {"Idempotency-Key": key}


async def stored(db: asyncpg.Pool, user: uuid.UUID, key: str) -> dict[str, Any] | None:
    row = await db.fetchrow(
        "SELECT customer_email, receipt, amount FROM payments_history.payments WHERE id = $1",
        ids.payment_id(user, key),
    )
    if row is None:
        return None
    receipt = None if row["receipt"] is None else json.loads(row["receipt"])
    return {**dict(row), "receipt": receipt}


async def test_without_any_email_nothing_is_stored_or_produced(
    client: Client, db: asyncpg.Pool, commands: TopicTail
) -> None:
    user, key = uuid.uuid4(), f"key-{uuid.uuid4()}"
    start = await commands.snapshot()
    body = {"plan_id": "monthly", "return_url": RETURN_URL}
    response = await client.post(
        "/api/v1/payments", headers=keyed(bearer(user, email=None), key), json=body
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "receipt_contact_required"
    assert await stored(db, user, key) is None
    payment_id = ids.payment_id(user, key)
    assert about(await commands.since(start), "payment_id", payment_id) == []


async def test_the_token_email_claim_is_the_receipts_customer(
    client: Client, db: asyncpg.Pool
) -> None:
    user, key = uuid.uuid4(), f"key-{uuid.uuid4()}"
    body = {"plan_id": "monthly", "return_url": RETURN_URL}
    headers = keyed(bearer(user, email="viewer@cinema.test"), key)
    assert (await client.post("/api/v1/payments", headers=headers, json=body)).status_code == 202
    row = await stored(db, user, key)
    assert row is not None and row["customer_email"] == "viewer@cinema.test"
    plan = await db.fetchrow("SELECT * FROM payments_history.plans WHERE id = 'monthly'")
    assert row["receipt"] == {
        "customer": {"email": "viewer@cinema.test"},
        "items": [
            {
                "description": plan["receipt_description"] or plan["title"],
                "quantity": "1",
                "amount": {"value": f"{row['amount']:.2f}", "currency": "RUB"},
                "vat_code": plan["receipt_vat_code"],
                "payment_mode": plan["receipt_payment_mode"],
                "payment_subject": plan["receipt_payment_subject"],
            }
        ],
    }


async def test_the_requests_email_wins_and_is_part_of_the_idempotent_body(
    client: Client, db: asyncpg.Pool
) -> None:
    user, key = uuid.uuid4(), f"key-{uuid.uuid4()}"
    body: dict[str, Any] = {"plan_id": "monthly", "return_url": RETURN_URL, "email": "me@x.test"}
    headers = keyed(bearer(user, email=None), key)
    assert (await client.post("/api/v1/payments", headers=headers, json=body)).status_code == 202
    row = await stored(db, user, key)
    assert row is not None and row["receipt"]["customer"] == {"email": "me@x.test"}
    other = await client.post(
        "/api/v1/payments", headers=headers, json=body | {"email": "other@x.test"}
    )
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    bad = await client.post(
        "/api/v1/payments", headers=keyed(headers, f"k-{uuid.uuid4()}"), json=body | {"email": "no"}
    )
    assert bad.status_code == 422


async def test_with_receipts_off_no_email_is_needed_and_no_receipt_stored(
    make_gateway: GatewayFactory, db: asyncpg.Pool
) -> None:
    off = await make_gateway(provider_receipts=False)
    user, key = uuid.uuid4(), f"key-{uuid.uuid4()}"
    body = {"plan_id": "monthly", "return_url": RETURN_URL}
    headers = keyed(bearer(user, email=None), key)
    assert (await off.post("/api/v1/payments", headers=headers, json=body)).status_code == 202
    row = await stored(db, user, key)
    assert row is not None and row["receipt"] is None
