"""Payment and refund rows: every field of the domain objects, one column each.

Every function takes a connection that the caller holds inside ``Database.transaction()``
or ``Database.reading()``, so a change and the webhook it triggers are one commit.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sandbox.provider.domain import Payment, Refund, RefundStatus, YooKassaStatus
from sandbox.sqlite import Connection, Row


async def insert_payment(conn: Connection, p: Payment) -> None:
    await _insert(conn, "payments", _payment_row(p))


async def update_payment(conn: Connection, p: Payment) -> None:
    await _update(conn, "payments", _payment_row(p))


async def get_payment(conn: Connection, payment_id: str) -> Payment | None:
    cur = await conn.execute("SELECT * FROM payments WHERE id = ?", (payment_id,))
    row = await cur.fetchone()
    return None if row is None else payment_from_row(row)


# A payment's user, as the processors put it in its metadata (the ledger's filter).
_USER_OF = "json_extract(metadata, '$.user_id')"


async def all_payments(conn: Connection, user_id: str | None = None) -> list[Payment]:
    """Every payment, or those whose ``metadata.user_id`` is ``user_id``."""
    args: tuple[str, ...] = (user_id,) if user_id else ()
    where = f"WHERE {_USER_OF} = ?" if args else ""
    cur = await conn.execute(f"SELECT * FROM payments {where} ORDER BY rowid", args)
    return [payment_from_row(row) for row in await cur.fetchall()]


async def due_payments(conn: Connection, now: float, limit: int) -> list[Payment]:
    """Unpaid or uncaptured payments past their deadline (partial index ``payments_expiry``)."""
    cur = await conn.execute(
        "SELECT * FROM payments WHERE status IN ('pending', 'waiting_for_capture')"
        " AND expires_at <= ? ORDER BY expires_at LIMIT ?",
        (now, limit),
    )
    return [payment_from_row(row) for row in await cur.fetchall()]


async def anything_due(conn: Connection, now: float) -> bool:
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM payments WHERE status IN ('pending', 'waiting_for_capture')"
        " AND expires_at <= ?) OR EXISTS (SELECT 1 FROM refunds WHERE status = 'pending'"
        " AND settle_at <= ?) AS due",
        (now, now),
    )
    row = await cur.fetchone()
    return bool(row is not None and row["due"])


async def insert_refund(conn: Connection, r: Refund) -> None:
    await _insert(conn, "refunds", _refund_row(r))


async def update_refund(conn: Connection, r: Refund) -> None:
    await _update(conn, "refunds", _refund_row(r))


async def get_refund(conn: Connection, refund_id: str) -> Refund | None:
    cur = await conn.execute("SELECT * FROM refunds WHERE id = ?", (refund_id,))
    row = await cur.fetchone()
    return None if row is None else refund_from_row(row)


async def all_refunds(conn: Connection, user_id: str | None = None) -> list[Refund]:
    """Every refund, or those of the payments ``all_payments(conn, user_id)`` returns."""
    args: tuple[str, ...] = (user_id,) if user_id else ()
    where = f"WHERE payment_id IN (SELECT id FROM payments WHERE {_USER_OF} = ?)" if args else ""
    cur = await conn.execute(f"SELECT * FROM refunds {where} ORDER BY rowid", args)
    return [refund_from_row(row) for row in await cur.fetchall()]


async def due_refunds(conn: Connection, now: float, limit: int) -> list[Refund]:
    cur = await conn.execute(
        "SELECT * FROM refunds WHERE status = 'pending' AND settle_at <= ?"
        " ORDER BY settle_at LIMIT ?",
        (now, limit),
    )
    return [refund_from_row(row) for row in await cur.fetchall()]


async def _insert(conn: Connection, table: str, row: dict[str, Any]) -> None:
    names, marks = ", ".join(row), ", ".join("?" for _ in row)
    await conn.execute(f"INSERT INTO {table}({names}) VALUES ({marks})", tuple(row.values()))


async def _update(conn: Connection, table: str, row: dict[str, Any]) -> None:
    object_id = row.pop("id")
    assignments = ", ".join(f"{name} = ?" for name in row)
    await conn.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*row.values(), object_id))


def _json_or_none(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value)


def _payment_row(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id,
        "idempotence_key": p.idempotence_key,
        "status": str(p.status),
        "amount": str(p.amount),
        "currency": p.currency,
        "refunded": str(p.refunded),
        "description": p.description,
        "metadata": json.dumps(p.metadata),
        "return_url": p.return_url,
        "created_at": p.created_at,
        "captured_at": p.captured_at,
        "card_last4": p.card_last4,
        "cancellation_reason": p.cancellation_reason,
        "save_payment_method": int(p.save_payment_method),
        "payment_method_id": p.payment_method_id,
        "card": json.dumps(p.card),
        "cancellation_party": p.cancellation_party,
        "capture": int(p.capture),
        "receipt": _json_or_none(p.receipt),
        "receipt_registered_at": p.receipt_registered_at,
        "expires_at": p.expires_at,
        "refund_pending": str(p.refund_pending),
    }


def payment_from_row(row: Row) -> Payment:
    return Payment(
        id=row["id"],
        idempotence_key=row["idempotence_key"],
        status=YooKassaStatus(row["status"]),
        amount=Decimal(row["amount"]),
        currency=row["currency"],
        created_at=row["created_at"],
        return_url=row["return_url"],
        description=row["description"],
        metadata=json.loads(row["metadata"]),
        refunded=Decimal(row["refunded"]),
        captured_at=row["captured_at"],
        card_last4=row["card_last4"],
        cancellation_reason=row["cancellation_reason"],
        save_payment_method=bool(row["save_payment_method"]),
        payment_method_id=row["payment_method_id"],
        card=json.loads(row["card"]),
        cancellation_party=row["cancellation_party"],
        capture=bool(row["capture"]),
        receipt=json.loads(row["receipt"]) if row["receipt"] else None,
        receipt_registered_at=row["receipt_registered_at"],
        expires_at=row["expires_at"],
        refund_pending=Decimal(row["refund_pending"]),
    )


def _refund_row(r: Refund) -> dict[str, Any]:
    return {
        "id": r.id,
        "payment_id": r.payment_id,
        "idempotence_key": r.idempotence_key,
        "status": str(r.status),
        "amount": str(r.amount),
        "currency": r.currency,
        "description": r.description,
        "metadata": json.dumps(r.metadata),
        "created_at": r.created_at,
        "receipt": _json_or_none(r.receipt),
        "receipt_registered_at": r.receipt_registered_at,
        "settle_at": r.settle_at,
        "planned": str(r.planned),
        "cancellation_reason": r.cancellation_reason,
    }


def refund_from_row(row: Row) -> Refund:
    return Refund(
        id=row["id"],
        payment_id=row["payment_id"],
        idempotence_key=row["idempotence_key"],
        amount=Decimal(row["amount"]),
        currency=row["currency"],
        created_at=row["created_at"],
        description=row["description"],
        metadata=json.loads(row["metadata"]),
        status=RefundStatus(row["status"]),
        receipt=json.loads(row["receipt"]) if row["receipt"] else None,
        receipt_registered_at=row["receipt_registered_at"],
        settle_at=row["settle_at"],
        planned=RefundStatus(row["planned"]),
        cancellation_reason=row["cancellation_reason"],
    )
