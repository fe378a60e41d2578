"""What one `POST /api/v1/payments` asks of PostgreSQL, and the plan cache that saves a read.

A new payment whose plan the gateway has seen costs one statement: the rate limiter's token,
then insert-or-existing (which also checks that the plan is still the version it was priced
from). A same-key replay costs the same one. A plan changed or deactivated since it was
cached is noticed by the next payment, never priced from the old row.
"""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import asyncpg
import httpx
import pytest
from asyncpg.connection import LoggedQuery
from fastapi import FastAPI
from gateway_it_support import Client, GatewayFactory, bearer

from gateway.database import Database
from gateway.models import REPLAYED_HEADER
from schemas import ids

RETURN_URL = "https://cinema.test/after-payment"


class Statements:
    """Every statement the gateway's pool runs while installed (asyncpg's query loggers)."""

    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.queries: list[str] = []
        acquire = db.connection

        @asynccontextmanager
        async def logged() -> AsyncIterator[asyncpg.Connection]:
            async with acquire() as conn:
                conn.add_query_logger(self._log)
                try:
                    yield conn
                finally:
                    conn.remove_query_logger(self._log)

        monkeypatch.setattr(db, "connection", logged)

    def _log(self, record: LoggedQuery) -> None:
        self.queries.append(" ".join(record.query.split()))

    def take(self) -> list[str]:
        queries, self.queries = self.queries, []
        return queries


async def pay(http: Client, user: uuid.UUID, key: str, plan_id: str) -> httpx.Response:
    return await http.post(
        "/api/v1/payments",
        headers=bearer(user) | {"Idempotency-Key": key},
        json={"plan_id": plan_id, "return_url": RETURN_URL},
    )


async def test_a_new_payment_and_its_replay_cost_one_statement_each(
    served: tuple[FastAPI, Client], plan: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, http = served
    statements = Statements(app.state.services.db, monkeypatch)
    user = uuid.uuid4()
    assert (await pay(http, user, f"first-{uuid.uuid4()}", plan)).status_code == 202  # plan read
    statements.take()

    key = f"key-{uuid.uuid4()}"
    new = await pay(http, user, key, plan)
    assert new.status_code == 202 and new.json()["payment_id"] == str(ids.payment_id(user, key))
    first = statements.take()
    assert len(first) == 1, first
    assert first[0].startswith("WITH take AS ( INSERT INTO payments_history.rate_limits")
    assert "INSERT INTO payments_history.payments" in first[0]

    replay = await pay(http, user, key, plan)
    assert replay.status_code == 202 and replay.json()["payment_id"] == new.json()["payment_id"]
    assert replay.headers.get(REPLAYED_HEADER) == "true" and REPLAYED_HEADER not in new.headers
    assert statements.take() == first


async def test_a_plan_changed_after_it_was_cached_prices_the_next_payment_anew(
    served: tuple[FastAPI, Client], plan: str, db: asyncpg.Pool
) -> None:
    _, http = served
    user = uuid.uuid4()
    before = f"key-{uuid.uuid4()}"
    assert (await pay(http, user, before, plan)).status_code == 202
    await db.execute(
        "UPDATE payments_history.plans SET amount = 12.50, receipt_description = 'Renamed'"
        " WHERE id = $1",
        plan,
    )
    after = f"key-{uuid.uuid4()}"
    answer = await pay(http, user, after, plan)
    assert answer.status_code == 202 and answer.json()["amount"] == "12.50"
    row = await db.fetchrow(
        "SELECT amount, receipt FROM payments_history.payments WHERE id = $1",
        ids.payment_id(user, after),
    )
    assert row["amount"] == Decimal("12.50")
    assert json.loads(row["receipt"])["items"][0]["description"] == "Renamed"
    assert (await pay(http, user, before, plan)).json()["amount"] == "10.00"  # a replay: as paid


async def test_a_plan_deactivated_after_it_was_cached_is_refused_but_replays_still_answer(
    served: tuple[FastAPI, Client], plan: str, db: asyncpg.Pool
) -> None:
    _, http = served
    user = uuid.uuid4()
    paid = f"key-{uuid.uuid4()}"
    assert (await pay(http, user, paid, plan)).status_code == 202
    await db.execute("UPDATE payments_history.plans SET active = false WHERE id = $1", plan)

    late = f"key-{uuid.uuid4()}"
    answer = await pay(http, user, late, plan)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "unknown_plan"
    rows = await db.fetchval(
        "SELECT count(*) FROM payments_history.payments WHERE id = $1", ids.payment_id(user, late)
    )
    assert rows == 0
    replay = await pay(http, user, paid, plan)
    assert replay.status_code == 202 and replay.json()["payment_id"] == str(
        ids.payment_id(user, paid)
    )


async def test_a_post_that_takes_the_long_way_takes_one_rate_limit_token(
    make_gateway: GatewayFactory, plan: str, db: asyncpg.Pool
) -> None:
    """The short way's statement took the token and could not tell (plan deactivated since
    it was cached): the long way answers without taking a second one."""
    http = await make_gateway(gateway_rate_limit_per_minute=3)
    user = uuid.uuid4()
    assert (await pay(http, user, f"key-{uuid.uuid4()}", plan)).status_code == 202
    await db.execute("UPDATE payments_history.plans SET active = false WHERE id = $1", plan)
    refused = await pay(http, user, f"key-{uuid.uuid4()}", plan)
    assert refused.json()["error"]["code"] == "unknown_plan", refused.text
    await db.execute("UPDATE payments_history.plans SET active = true WHERE id = $1", plan)

    third = await pay(http, user, f"key-{uuid.uuid4()}", plan)
    fourth = await pay(http, user, f"key-{uuid.uuid4()}", plan)

    assert third.status_code == 202, third.text  # 2 tokens taken so far, not 3
    assert fourth.status_code == 429, fourth.text
