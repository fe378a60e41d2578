"""Collect the ground truth once the run is quiet: ledger, database, Auth, Notify, API, Kafka.

Only what belongs to this run's users is kept, so other tests' data on a shared stack
never counts for or against the run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

import asyncpg
import httpx

from billing_cli.lag import group_lag
from common.settings import Settings
from tests.chaos.client import Client
from tests.chaos.invariants import Row, Truth
from tests.chaos.stack import CONSUMER_GROUPS
from tests.chaos.workload import Outcome

FAN_OUT = 32

PAYMENTS_SQL = """
SELECT id, user_id, status, amount, refunded_amount, refunded, external_id, idempotency_key,
       failure_reason
FROM payments_history.payments WHERE user_id = ANY($1::uuid[])"""
REFUNDS_SQL = """
SELECT id, payment_id, user_id, status, amount, external_id, failure_reason
FROM payments_history.refunds WHERE user_id = ANY($1::uuid[])"""
SUBSCRIBERS_SQL = """
SELECT user_id, subscriber_status FROM payments_history.subscribers
WHERE user_id = ANY($1::uuid[])"""
OUTBOX_SQL = """
SELECT message_id, type, payment_id, refund_id, published_at IS NOT NULL AS published
FROM payments_history.outbox WHERE key = ANY($1::text[])"""
DEAD_LETTERS_SQL = """
SELECT id, consumer, message_id, error, origin_topic, reinjected_at
FROM payments_history.dead_letters WHERE created_at >= $1 ORDER BY id"""
SUBSCRIPTIONS_SQL = """
SELECT user_id, status FROM payments_history.subscriptions WHERE user_id = ANY($1::uuid[])"""
HANDLED_SQL = """
SELECT consumer, message_id FROM payments_history.inbox WHERE message_id = ANY($1::uuid[])"""


async def collect(
    client: Client, pool: asyncpg.Pool, outcomes: list[Outcome], since: datetime
) -> Truth:
    users = [o.user_id for o in outcomes]
    truth = Truth(receipts_on=Settings().provider_receipts)
    await _from_ledger(client, truth, {str(u) for u in users})
    await _from_database(pool, truth, users, since)
    truth.roles = await _per_user(users, lambda u: _roles(client, u))
    truth.notifications = await _per_user(users, lambda u: _notifications(client, u))
    truth.api_status = await _api_statuses(client, outcomes)
    truth.lag = await group_lag(client.urls.kafka, CONSUMER_GROUPS)
    return truth


async def _from_ledger(client: Client, truth: Truth, users: set[str]) -> None:
    response = await client.send("GET", f"{client.urls.provider}/sandbox/ledger")
    if response is None or response.status_code != 200:
        raise RuntimeError(f"the provider's ledger did not answer: {response!r}")
    ledger = response.json()
    truth.ledger_payments = [
        p for p in ledger["payments"] if (p.get("metadata") or {}).get("user_id") in users
    ]
    ours = {str(p["id"]) for p in truth.ledger_payments}
    truth.ledger_refunds = [r for r in ledger["refunds"] if str(r["payment_id"]) in ours]


async def _from_database(
    pool: asyncpg.Pool, truth: Truth, users: list[uuid.UUID], since: datetime
) -> None:
    async with pool.acquire() as conn:
        truth.db_payments = _rows(await conn.fetch(PAYMENTS_SQL, users))
        truth.db_refunds = _rows(await conn.fetch(REFUNDS_SQL, users))
        rows = await conn.fetch(SUBSCRIBERS_SQL, users)
        truth.subscribers = {str(r["user_id"]): bool(r["subscriber_status"]) for r in rows}
        rows = await conn.fetch(SUBSCRIPTIONS_SQL, users)
        truth.subscription_status = {str(r["user_id"]): str(r["status"]) for r in rows}
        truth.outbox = _rows(await conn.fetch(OUTBOX_SQL, [str(u) for u in users]))
        letters = _rows(await conn.fetch(DEAD_LETTERS_SQL, since))
        truth.dead_letters = letters
        ids = [d["message_id"] for d in letters if d["message_id"] is not None]
        handled = await conn.fetch(HANDLED_SQL, ids)
        truth.handled = {(str(r["consumer"]), str(r["message_id"])) for r in handled}


def _rows(records: Iterable[asyncpg.Record]) -> list[Row]:
    return [{k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in r.items()} for r in records]


async def _per_user(
    users: list[uuid.UUID], fetch: Callable[[uuid.UUID], Awaitable[Any]]
) -> dict[str, Any]:
    gate = asyncio.Semaphore(FAN_OUT)

    async def one(user: uuid.UUID) -> tuple[str, Any]:
        async with gate:
            return str(user), await fetch(user)

    return dict(await asyncio.gather(*(one(u) for u in users)))


async def _roles(client: Client, user: uuid.UUID) -> list[str]:
    response = await client.send("GET", f"{client.urls.auth}/api/v1/users/{user}/roles")
    return _json(response, "roles")


async def _notifications(client: Client, user: uuid.UUID) -> list[Row]:
    response = await client.send(
        "GET", f"{client.urls.notify}/api/v1/notifications", params={"user_id": str(user)}
    )
    return _json(response, "items")


def _json(response: httpx.Response | None, field: str) -> list[Any]:
    if response is None or response.status_code != 200:
        raise RuntimeError(f"ground truth unavailable: {response!r}")
    return list(response.json()[field])


async def _api_statuses(client: Client, outcomes: list[Outcome]) -> dict[str, str]:
    accepted = [o for o in outcomes if o.accepted and o.payment_id]
    gate = asyncio.Semaphore(FAN_OUT)

    async def one(o: Outcome) -> tuple[str, str]:
        async with gate:
            response = await client.api("GET", o.user_id, f"/api/v1/payments/{o.payment_id}")
        status = (
            response.json()["status"]
            if response is not None and response.status_code == 200
            else f"HTTP {response and response.status_code}"
        )
        return str(o.payment_id), str(status)

    return dict(await asyncio.gather(*(one(o) for o in accepted)))
