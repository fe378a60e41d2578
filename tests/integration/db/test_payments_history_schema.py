"""The migrations own payments_history: the seed's columns, and constraints that guard money."""

import os
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from schemas.ids import SYSTEM_YOOKASSA

DEFAULT_URL = "postgresql://billing:billing@127.0.0.1:55432/billing"

SEED_COLUMNS = {
    ("payments", "user_id"): "uuid",
    ("payments", "amount"): "numeric",
    ("payments", "external_id"): "uuid",
    ("payments", "external_payment"): "jsonb",
    ("payments", "refunded"): "boolean",
    ("payments", "system_id"): "uuid",
    ("subscribers", "user_id"): "uuid",
    ("subscribers", "subscriber_status"): "boolean",
    ("subscribers", "date_subscribe"): "date",
}


@pytest.fixture
async def conn() -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(os.environ.get("DATABASE_URL", DEFAULT_URL))
    try:
        yield connection
    finally:
        await connection.close()


async def _insert_payment(conn: asyncpg.Connection, **overrides: object) -> uuid.UUID:
    row: dict[str, object] = {
        "id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "plan_id": "monthly",
        "amount": Decimal("499.00"),
        "currency": "RUB",
        "idempotency_key": str(uuid.uuid4()),
        "request_fingerprint": "f" * 64,
        "return_url": "https://cinema.example/return",
        "system_id": SYSTEM_YOOKASSA,
    }
    row.update(overrides)
    columns = ", ".join(row)
    params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(
        f"INSERT INTO payments_history.payments ({columns}) VALUES ({params})", *row.values()
    )
    return row["id"]  # type: ignore[return-value]


async def test_seed_columns_keep_their_names_and_types(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'payments_history'"
    )
    found = {(r["table_name"], r["column_name"]): r["data_type"] for r in rows}
    assert {key: found.get(key) for key in SEED_COLUMNS} == SEED_COLUMNS


async def test_reference_data_is_seeded(conn: asyncpg.Connection) -> None:
    monthly = await conn.fetchrow(
        "SELECT amount, currency, period_days FROM payments_history.plans WHERE id = 'monthly'"
    )
    assert (monthly["amount"], monthly["currency"], monthly["period_days"]) == (
        Decimal("499.00"),
        "RUB",
        30,
    )
    assert (
        await conn.fetchval(
            "SELECT code FROM payments_history.payment_systems WHERE id = $1", SYSTEM_YOOKASSA
        )
        == "yookassa"
    )


async def test_new_payment_gets_database_defaults(conn: asyncpg.Connection) -> None:
    payment_id = await _insert_payment(conn)
    row = await conn.fetchrow(
        "SELECT status, refunded, refunded_amount FROM payments_history.payments WHERE id = $1",
        payment_id,
    )
    assert dict(row) == {"status": "accepted", "refunded": False, "refunded_amount": Decimal("0")}


async def test_same_user_and_idempotency_key_is_refused(conn: asyncpg.Connection) -> None:
    user, key = uuid.uuid4(), f"key-{uuid.uuid4()}"
    await _insert_payment(conn, user_id=user, idempotency_key=key)
    with pytest.raises(asyncpg.UniqueViolationError):
        await _insert_payment(conn, user_id=user, idempotency_key=key)


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": Decimal("-1.00")},
        {"refunded_amount": Decimal("500.00")},
        {"refunded_amount": Decimal("-0.01")},
        {"status": "charged_twice"},
        {"refunded": True, "refunded_amount": Decimal("100.00")},
    ],
    ids=[
        "negative-amount",
        "over-refunded",
        "negative-refund",
        "unknown-status",
        "refunded-flag-lies",
    ],
)
async def test_constraints_reject_bad_payments(
    conn: asyncpg.Connection, overrides: dict[str, object]
) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await _insert_payment(conn, **overrides)


async def test_refund_must_be_positive(conn: asyncpg.Connection) -> None:
    payment_id = await _insert_payment(conn, status="succeeded")
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO payments_history.refunds (id, payment_id, user_id, amount, currency,"
            " idempotency_key, request_fingerprint) VALUES ($1, $2, $3, 0, 'RUB', 'k', 'f')",
            uuid.uuid4(),
            payment_id,
            uuid.uuid4(),
        )
