"""Idempotency keys past their retention: the key's text is dropped, the resource stays.

A key is honoured as a replay for at least `IDEMPOTENCY_KEY_RETENTION_HOURS` (never under
24 h, the window Stripe and YooKassa promise). Only rows older than that whose outcome is
final are touched: an `accepted` payment may still be re-sent by its client and re-driven.
The dropped text becomes `expired:<id>` (unique, so the (user, key) constraint holds). A
late retry still finds its resource, because ids are derived from (user, key): the gateway
looks it up by that id, so even an expired key can never make a second payment.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from domain import payments, refunds

EXPIRED_PREFIX = "expired:"
MIN_RETENTION_HOURS = 24
_EXPIRE = """
    UPDATE payments_history.{table} SET idempotency_key = '{prefix}' || id::text
    WHERE created_at < now() - make_interval(hours => $1)
      AND status = ANY($2::text[])
      AND idempotency_key NOT LIKE '{prefix}%'
"""
FINAL = {
    "payments": sorted(payments.FINAL),
    "refunds": sorted(refunds.FINAL),
}


@dataclass(frozen=True)
class Expired:
    payments: int
    refunds: int


async def expire_keys(conn: asyncpg.Connection, retention_hours: int) -> Expired:
    if retention_hours < MIN_RETENTION_HOURS:
        raise ValueError(f"keys are kept at least {MIN_RETENTION_HOURS} h")
    counts = {}
    for table, final in FINAL.items():
        sql = _EXPIRE.format(table=table, prefix=EXPIRED_PREFIX)
        status = await conn.execute(sql, retention_hours, final)
        counts[table] = int(status.split()[-1])
    return Expired(payments=counts["payments"], refunds=counts["refunds"])
