"""Concurrent POSTs' accept statements run as one (`gateway.accept_batches`), against the
real PostgreSQL: each POST of a batch gets the answer it would have had alone, twins still
converge on one row, a batch whose statement fails becomes each POST's own statement, and a
POST whose client is gone while it waits leaves the others (and the pool) alone.

A batch is formed the way it forms under load: as many statements as the gateway lets fly at
once are in flight — here one (`gateway_accept_writers=1`), held by a transaction that locks
its user's bucket — while the others arrive; they queue and run as the next statement once
it is done.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from gateway_it_support import Client, bearer

from gateway.accept_batches import AcceptBatches
from gateway.models import REPLAYED_HEADER, CreatePaymentBody
from gateway.payments import _new_payment
from gateway.repository import NewPayment, accepted, active_plan
from schemas import ids

RETURN_URL = "https://cinema.test/after-payment"
CAPACITY = 600.0  # gateway_rate_limit_per_minute's default: a new user's bucket
T = TypeVar("T")


def accepts_of(app: FastAPI) -> AcceptBatches:
    batches: AcceptBatches = app.state.services.accepts
    return batches


async def pay(
    http: Client, user: uuid.UUID, key: str, plan: str = "monthly", url: str = RETURN_URL
) -> httpx.Response:
    return await http.post(
        "/api/v1/payments",
        headers=bearer(user) | {"Idempotency-Key": key},
        json={"plan_id": plan, "return_url": url},
    )


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


@asynccontextmanager
async def statement_in_flight(
    db: asyncpg.Pool, start: Callable[[uuid.UUID], Awaitable[T]]
) -> AsyncIterator["asyncio.Future[T]"]:
    """`start(user)` (an accept of a user whose bucket another transaction holds) in
    flight: whatever is submitted inside the block queues behind it, and runs as the next
    statement once the block ends (the holder commits)."""
    user = uuid.uuid4()
    await db.execute(
        "INSERT INTO payments_history.rate_limits (user_id, tokens, updated_at, allowed)"
        " VALUES ($1, $2, clock_timestamp(), true)",
        user,
        CAPACITY,
    )
    async with db.acquire() as holder, holder.transaction():
        await holder.execute(
            "SELECT 1 FROM payments_history.rate_limits WHERE user_id = $1 FOR UPDATE", user
        )
        first = asyncio.ensure_future(start(user))

        async def blocked() -> bool:
            waiting = await db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                holder.get_server_pid(),
            )
            return bool(waiting)

        await until(blocked, "the lone statement waited for the held bucket")
        yield first
    await asyncio.wait_for(first, 10)


async def queued(app: FastAPI, n: int) -> None:
    async def all_queued() -> bool:
        return len(accepts_of(app)._queue) == n

    await until(all_queued, f"{n} accepts queued")


@pytest.fixture
async def served(make_served: Any) -> tuple[FastAPI, Client]:
    """A gateway of the test's own whose POSTs queue as soon as one statement is in flight."""
    pair: tuple[FastAPI, Client] = await make_served(gateway_accept_writers=1)
    return pair


async def tokens(db: asyncpg.Pool, user: uuid.UUID) -> float | None:
    value = await db.fetchval(
        "SELECT tokens FROM payments_history.rate_limits WHERE user_id = $1", user
    )
    return None if value is None else float(value)


async def test_a_batch_answers_each_post_as_it_would_alone(
    served: tuple[FastAPI, Client], db: asyncpg.Pool, plan: str
) -> None:
    app, http = served
    cached = [pay(http, uuid.uuid4(), f"warm-{uuid.uuid4()}", p) for p in ("monthly", plan)]
    assert all(r.status_code == 202 for r in await asyncio.gather(*cached))  # plans cached
    new = [uuid.uuid4() for _ in range(6)]
    replayer, reuser, limited, repriced = (uuid.uuid4() for _ in range(4))
    earlier = await pay(http, replayer, "paid-before")
    assert (await pay(http, reuser, "used-before")).status_code == 202
    await db.execute(  # an empty bucket: its POST is refused 429
        "INSERT INTO payments_history.rate_limits (user_id, tokens, updated_at, allowed)"
        " VALUES ($1, 0, clock_timestamp() + interval '1 hour', false)",
        limited,
    )
    await db.execute("UPDATE payments_history.plans SET amount = 12.50 WHERE id = $1", plan)

    async with statement_in_flight(db, lambda u: pay(http, u, "lone")) as lone:
        posts = [
            *(pay(http, user, f"new-{user}") for user in new),
            pay(http, replayer, "paid-before"),
            pay(http, reuser, "used-before", url="https://cinema.test/other"),
            pay(http, limited, "refused"),
            pay(http, repriced, "repriced", plan),  # the plan changed since it was cached
        ]
        answers = asyncio.gather(*posts)
        await queued(app, len(posts))
    answered = await answers
    assert (await lone).status_code == 202

    assert accepts_of(app).sizes[len(posts)] == 1  # one statement for them all
    for user, answer in zip(new, answered, strict=False):
        assert answer.status_code == 202 and REPLAYED_HEADER not in answer.headers
        assert answer.json()["payment_id"] == str(ids.payment_id(user, f"new-{user}"))
        assert await tokens(db, user) == CAPACITY - 1  # one token each, in the batch
    replay, reused, refused, repriced_answer = answered[len(new) :]
    assert replay.status_code == 202 and replay.headers[REPLAYED_HEADER] == "true"
    assert replay.json()["payment_id"] == earlier.json()["payment_id"]
    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert (
        await db.fetchval(
            "SELECT count(*) FROM payments_history.payments WHERE user_id = $1", limited
        )
        == 0
    )
    assert repriced_answer.status_code == 202 and repriced_answer.json()["amount"] == "12.50"
    assert await tokens(db, repriced) == CAPACITY - 1  # the long way took none again


async def test_twins_in_two_gateways_batches_converge_on_one_row(
    make_served: Any, db: asyncpg.Pool
) -> None:
    """Each user sends the same POST twice at once, once to each of two gateways, and each
    gateway batches its POSTs: every pair gets one payment, created by one of the two."""
    gateways = [await make_served() for _ in range(2)]
    for _, http in gateways:
        assert (await pay(http, uuid.uuid4(), "warm")).status_code == 202
    users = [uuid.uuid4() for _ in range(20)]
    twins = [pay(http, user, "twin") for user in users for _, http in gateways]
    answers = await asyncio.gather(*twins)
    assert {a.status_code for a in answers} == {202}
    assert all(accepts_of(app).batches >= 1 for app, _ in gateways)  # each did batch
    for i, user in enumerate(users):
        pair = answers[2 * i : 2 * i + 2]
        assert {a.json()["payment_id"] for a in pair} == {str(ids.payment_id(user, "twin"))}
        assert sorted(REPLAYED_HEADER in a.headers for a in pair) == [False, True]
    rows = await db.fetchval(
        "SELECT count(*) FROM payments_history.payments WHERE user_id = ANY($1)", users
    )
    assert rows == len(users)


async def test_twins_in_one_gateway_wait_for_the_next_batch(
    served: tuple[FastAPI, Client], db: asyncpg.Pool
) -> None:
    app, http = served
    assert (await pay(http, uuid.uuid4(), "warm")).status_code == 202
    user, other = uuid.uuid4(), uuid.uuid4()
    async with statement_in_flight(db, lambda u: pay(http, u, "lone")):
        answers = asyncio.gather(
            pay(http, user, "twin"), pay(http, user, "twin"), pay(http, other, "k")
        )
        await queued(app, 3)
    first, second, _ = await answers
    assert first.json()["payment_id"] == second.json()["payment_id"]
    assert REPLAYED_HEADER not in first.headers and second.headers[REPLAYED_HEADER] == "true"
    assert accepts_of(app).sizes[2] >= 1 and accepts_of(app).sizes[1] >= 1
    left = await tokens(db, user)  # one token per POST (and what refilled in between)
    assert left is not None and CAPACITY - 2 <= left < CAPACITY - 1


def new_payment(app: FastAPI, plan: asyncpg.Record, user: uuid.UUID, request_id: str) -> NewPayment:
    """The row a POST of `user` with a new key would insert, with `request_id`."""
    key = f"direct-{uuid.uuid4()}"
    body = CreatePaymentBody(plan_id=plan["id"], return_url=RETURN_URL)
    new = _new_payment(app.state.services, plan, user, key, body, "f" * 64, f"{user}@t.test")
    return replace(new, request_id=request_id)


async def test_a_batch_whose_statement_fails_runs_each_post_alone(
    served: tuple[FastAPI, Client], db: asyncpg.Pool
) -> None:
    """One POST of the batch carries a value PostgreSQL refuses (a request id longer than
    its column): the statement fails and rolls back whole, then each POST runs its own; the
    bad one fails alone, the others are created, each with one token taken."""
    app, _ = served
    batches = accepts_of(app)
    async with db.acquire() as conn:
        plan = await active_plan(conn, "monthly")
    assert plan is not None
    good, bad, also_good = (uuid.uuid4() for _ in range(3))
    items = [
        new_payment(app, plan, good, "ok"),
        new_payment(app, plan, bad, "x" * 65),
        new_payment(app, plan, also_good, "ok"),
    ]
    lone = lambda u: batches.accept(new_payment(app, plan, u, "lone"), plan["version"])  # noqa: E731
    async with statement_in_flight(db, lone):
        results = asyncio.gather(
            *(batches.accept(item, plan["version"]) for item in items), return_exceptions=True
        )
        await queued(app, 3)
    first, failed, third = await results
    assert isinstance(failed, asyncpg.StringDataRightTruncationError)
    for row, item in ((first, items[0]), (third, items[2])):
        found = accepted(row, batches.limiter)
        assert found is not None and found[1] and found[0]["payment_id"] == item.payment_id
    assert batches.sizes[3] == 0  # never written as a batch
    assert [await tokens(db, u) for u in (good, bad, also_good)] == [
        CAPACITY - 1,
        None,  # its statement failed: rolled back, bucket and all
        CAPACITY - 1,
    ]


async def test_a_post_cancelled_while_it_waits_leaves_the_others_and_the_pool(
    served: tuple[FastAPI, Client], db: asyncpg.Pool
) -> None:
    app, _ = served
    batches = accepts_of(app)
    async with db.acquire() as conn:
        plan = await active_plan(conn, "monthly")
    assert plan is not None
    users = [uuid.uuid4() for _ in range(3)]
    items = [new_payment(app, plan, u, "ok") for u in users]
    lone = lambda u: batches.accept(new_payment(app, plan, u, "lone"), plan["version"])  # noqa: E731
    async with statement_in_flight(db, lone):
        waiting = [asyncio.ensure_future(batches.accept(i, plan["version"])) for i in items]
        await queued(app, 3)
        waiting[1].cancel()  # its client is gone
        await asyncio.sleep(0)
    first, third = await asyncio.gather(waiting[0], waiting[2])
    assert waiting[1].cancelled()
    assert batches.sizes[2] >= 1
    for row, item in ((first, items[0]), (third, items[2])):
        assert row["payment_id"] == item.payment_id and row["created"]
    assert await tokens(db, users[1]) is None  # nothing run for it: no token, no row
    assert (
        await db.fetchval(
            "SELECT count(*) FROM payments_history.payments WHERE id = $1", items[1].payment_id
        )
        == 0
    )
    pool = app.state.services.db.pool
    assert pool.get_size() == pool.get_idle_size()  # every connection back in the pool


async def test_a_lone_post_runs_its_own_statement_at_once(
    served: tuple[FastAPI, Client],
) -> None:
    app, http = served
    answer = await pay(http, uuid.uuid4(), f"lone-{uuid.uuid4()}")
    assert answer.status_code == 202
    assert not accepts_of(app)._writers  # no writer task, no hop
    assert sum(accepts_of(app).sizes.values()) == 0  # no batch statement
    assert Decimal(answer.json()["amount"]) > 0


async def test_with_two_writers_a_post_runs_at_once_beside_a_statement_in_flight(
    make_served: Any, db: asyncpg.Pool
) -> None:
    _, http = await make_served(gateway_accept_writers=2)
    assert (await pay(http, uuid.uuid4(), "warm")).status_code == 202
    async with statement_in_flight(db, lambda u: pay(http, u, "held")) as held:
        beside = await asyncio.wait_for(pay(http, uuid.uuid4(), "beside"), 5)
        assert beside.status_code == 202 and not held.done()
    assert (await held).status_code == 202
