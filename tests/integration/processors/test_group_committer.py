"""The group committer against the real PostgreSQL: which bodies share a transaction, and a
failed batch — a body that raises, a deadlock the server breaks — becomes a clean retry of
each body alone, so one bad message never fails the others."""

import asyncio
import contextvars
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from processors_harness import Gateway

from processors.group_commit import GroupCommitter
from processors.journal import Journal
from processors.runtime import Context

Body = Callable[[asyncpg.Connection, Journal], Awaitable[int]]
T = TypeVar("T")


def marking(payment_id: UUID, mark: str, runs: Counter[str]) -> Body:
    """A body that writes `mark` on the payment (an accepted row of this test) and returns
    its transaction's id."""

    async def body(conn: asyncpg.Connection, journal: Journal) -> int:
        runs[mark] += 1
        await conn.execute(
            "UPDATE payments_history.payments SET failure_reason = $2 WHERE id = $1",
            payment_id,
            mark,
        )
        txid: int = await conn.fetchval("SELECT txid_current()")
        return txid

    return body


async def marks(ctx: Context, payments: list[UUID]) -> list[str | None]:
    rows = await ctx.pool.fetch(
        "SELECT id, failure_reason FROM payments_history.payments WHERE id = ANY($1)", payments
    )
    by_id = {r["id"]: r["failure_reason"] for r in rows}
    return [by_id[p] for p in payments]


async def accepted(gateway: Gateway, n: int) -> list[UUID]:
    return [(await gateway.new_payment(send=False)).payment_id for _ in range(n)]


async def behind_a_lone_body(
    committer: GroupCommitter, *submitted: Coroutine[Any, Any, T]
) -> list[asyncio.Future[T]]:
    """Start `submitted` (calls of `committer.run`) while a lone body is being written, so
    they queue and the writer takes them as one batch once it is done."""
    release = asyncio.Event()

    async def lone(conn: asyncpg.Connection, journal: Journal) -> None:
        await release.wait()

    first = asyncio.ensure_future(committer.run("k0", lone))
    await asyncio.sleep(0)  # it is being written (by its own task: the committer was idle)
    futures = [asyncio.ensure_future(c) for c in submitted]
    await asyncio.sleep(0)  # they queued behind it
    release.set()
    await first
    return futures


async def test_bodies_queued_together_share_one_transaction_one_per_key(
    ctx: Context, gateway: Gateway
) -> None:
    a, b, c, a2 = await accepted(gateway, 4)
    committer = GroupCommitter(ctx.pool)
    runs: Counter[str] = Counter()
    first = await committer.run("k0", marking(a, "lone", runs))  # idle: committed at once
    assert not committer._writers  # by its handler's own task, no writer task
    submitted = await behind_a_lone_body(
        committer,
        committer.run("k1", marking(a, "a", runs)),
        committer.run("k2", marking(b, "b", runs)),
        committer.run("k3", marking(c, "c", runs)),
        committer.run("k1", marking(a2, "a2", runs)),  # k1 again: the next transaction
    )
    txids = await asyncio.gather(*submitted)
    assert txids[0] == txids[1] == txids[2] != first
    assert txids[3] not in (txids[0], first)
    assert await marks(ctx, [a, b, c, a2]) == ["a", "b", "c", "a2"]
    assert set(runs.values()) == {1}
    assert committer.batches == 1


async def test_a_body_that_raises_fails_alone_and_the_others_commit(
    ctx: Context, gateway: Gateway
) -> None:
    a, b, c = await accepted(gateway, 3)
    committer = GroupCommitter(ctx.pool)
    runs: Counter[str] = Counter()
    good = marking(b, "b", runs)

    async def bad(conn: asyncpg.Connection, journal: Journal) -> int:
        await good(conn, journal)  # its write must go with it
        raise ValueError("this message is bad")

    submitted = await behind_a_lone_body(
        committer,
        committer.run("k1", marking(a, "a", runs)),
        committer.run("k2", bad),
        committer.run("k3", marking(c, "c", runs)),
    )
    results = await asyncio.gather(*submitted, return_exceptions=True)
    assert isinstance(results[1], ValueError)
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert results[0] != results[2]  # each alone, after the batch rolled back
    assert await marks(ctx, [a, b, c]) == ["a", None, "c"]
    # a and b ran in the batch (in key order), c did not get to; then each alone
    assert runs == Counter({"a": 2, "b": 2, "c": 1})
    assert committer.batches == 0


async def test_a_deadlock_the_server_breaks_becomes_a_retry_of_each_body_alone(
    ctx: Context, gateway: Gateway
) -> None:
    """The batch locks A then waits for B, held by another transaction, which then asks for
    A: PostgreSQL's deadlock detector (deadlock_timeout, 1 s) aborts the batch, which waited
    first; each body is run again alone and both commit, the other transaction too."""
    a, b = await accepted(gateway, 2)
    committer = GroupCommitter(ctx.pool, lock_wait_ms=0)  # no lock timeout: the detector's
    runs: Counter[str] = Counter()
    async with ctx.pool.acquire() as other:
        tx = other.transaction()
        await tx.start()
        await other.execute("UPDATE payments_history.payments SET amount = amount WHERE id = $1", b)
        grouped = asyncio.gather(
            *await behind_a_lone_body(
                committer,
                committer.run("k1", marking(a, "a", runs)),
                committer.run("k2", marking(b, "b", runs)),
            )
        )
        await asyncio.sleep(0.3)  # the batch holds A and waits for B
        await other.execute(  # waits for A: the cycle; the batch is the victim
            "UPDATE payments_history.payments SET amount = amount WHERE id = $1", a
        )
        await tx.commit()
    txids = await asyncio.wait_for(grouped, 30)
    assert txids[0] != txids[1]
    assert await marks(ctx, [a, b]) == ["a", "b"]
    assert runs == Counter({"a": 2, "b": 2})
    assert committer.batches == 0


async def test_a_batch_blocked_on_a_lock_gives_up_and_the_others_do_not_wait_for_it(
    ctx: Context, gateway: Gateway
) -> None:
    """Another transaction holds B's row for long (an operator, a slow request): the batch
    [A, B] waits `lock_wait_ms`, rolls back; A commits alone at once, B alone when B is free."""
    a, b = await accepted(gateway, 2)
    committer = GroupCommitter(ctx.pool, lock_wait_ms=200)
    runs: Counter[str] = Counter()
    async with ctx.pool.acquire() as other:
        tx = other.transaction()
        await tx.start()
        await other.execute("UPDATE payments_history.payments SET amount = amount WHERE id = $1", b)
        first, second = await behind_a_lone_body(
            committer,
            committer.run("k1", marking(a, "a", runs)),
            committer.run("k2", marking(b, "b", runs)),
        )
        await asyncio.wait_for(asyncio.shield(first), 5)  # while B is still held
        assert not second.done()
        assert await marks(ctx, [a, b]) == ["a", None]
        await tx.commit()
    await asyncio.wait_for(second, 10)
    assert await marks(ctx, [a, b]) == ["a", "b"]
    assert runs == Counter({"a": 2, "b": 2})
    assert committer.batches == 0


WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


async def test_each_body_runs_in_its_handlers_context(ctx: Context, gateway: Gateway) -> None:
    """A handler's log fields (common.logs binds them in a context variable) are those its
    body logs with, though the writer task runs the transaction."""
    a, b = await accepted(gateway, 2)
    committer = GroupCommitter(ctx.pool)
    seen: dict[str, str] = {}

    async def handler(name: str, payment_id: UUID) -> None:
        WHO.set(name)

        async def body(conn: asyncpg.Connection, journal: Journal) -> None:
            await conn.execute("SELECT 1 FROM payments_history.payments WHERE id = $1", payment_id)
            seen[name] = WHO.get()

        await committer.run(name, body)

    await asyncio.gather(
        *await behind_a_lone_body(committer, handler("first", a), handler("second", b))
    )
    assert seen == {"first": "first", "second": "second"}
    assert committer.batches == 1


@asynccontextmanager
async def blocked_alone(
    ctx: Context, gateway: Gateway, committer: GroupCommitter, runs: Counter[str]
) -> AsyncIterator[tuple[list[UUID], "asyncio.Future[int]"]]:
    """Another transaction holds B's row; the batch [A, B] gave up on it: A committed, B now
    retries alone, waiting for the row. Yields [A, B] and B's handler's `run`; the other
    transaction commits when the block ends."""
    a, b = await accepted(gateway, 2)
    async with ctx.pool.acquire() as other, other.transaction():
        await other.execute("UPDATE payments_history.payments SET amount = amount WHERE id = $1", b)
        first, second = await behind_a_lone_body(
            committer,
            committer.run("k1", marking(a, "a", runs)),
            committer.run("k2", marking(b, "b", runs)),
        )
        await asyncio.wait_for(asyncio.shield(first), 5)
        for _ in range(500):  # until its retry alone has started (and waits for the row)
            if runs["b"] == 2:
                break
            await asyncio.sleep(0.01)
        assert runs["b"] == 2 and not second.done()
        yield [a, b], second


async def test_a_handler_stopped_while_its_body_retries_alone_stops_the_retry(
    ctx: Context, gateway: Gateway
) -> None:
    """A stopping processor cancels its handlers: a body retrying alone, waiting for a row
    another transaction holds, is cancelled with its handler — it neither keeps a connection
    (the pool's close would wait for it) nor commits later for a handler that is gone."""
    committer = GroupCommitter(ctx.pool, lock_wait_ms=200)
    runs: Counter[str] = Counter()
    async with blocked_alone(ctx, gateway, committer, runs) as ((a, b), second):
        second.cancel()
        await asyncio.sleep(0.3)
        assert not committer._tasks, "the retry still runs for a handler that is gone"
    await asyncio.sleep(0.3)
    assert await marks(ctx, [a, b]) == ["a", None]
    assert runs == Counter({"a": 2, "b": 2})


async def test_closing_the_committer_stops_a_retry_that_waits_for_a_lock(
    ctx: Context, gateway: Gateway
) -> None:
    committer = GroupCommitter(ctx.pool, lock_wait_ms=200)
    runs: Counter[str] = Counter()
    async with blocked_alone(ctx, gateway, committer, runs) as ((a, b), second):
        await asyncio.wait_for(committer.aclose(), 2)  # while B's row is still held
        assert second.done() and isinstance(second.exception(), RuntimeError)
    assert await marks(ctx, [a, b]) == ["a", None]
