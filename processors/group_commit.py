"""Group commit: the transaction bodies handlers submit at their commit point, several in one
PostgreSQL transaction (`BEGIN`, the bodies, one journal flush for all, `COMMIT`).

A handler reads and calls the provider as before, then hands its transaction body to
`GroupCommitter.run` and awaits it: it returns only after the COMMIT that holds the body's
writes, so the handler — and the run loop's record, whose offset becomes committable — is
finished only then. The queueing is `common.batching`'s: one writer task writes one
transaction at a time; bodies submitted while it is busy queue, and it then takes
everything queued (at most `max_batch`, one body per key) as the next one. A lone body is
written at once: no latency added when idle.

Keys are the users the bodies write for (a payment, its refunds, its user's subscription
and advisory lock all belong to one user): a transaction holds at most one body per key, so
no body reads rows another body queued in the journal and not written yet, and the bodies
run in key order, so two processors' batches take their users' locks in the same order.

A batch waits for a lock at most `lock_wait_ms` (`SET LOCAL lock_timeout`, in BEGIN's round
trip): a gateway request or an operator holding one user's row must not stall every handler
behind the writer. A batch that fails for any reason — that timeout, `deadlock_detected`, a
conflict, an error raised by one body — is rolled back whole, and each of its bodies runs
again alone in its own transaction, without the timeout, concurrently, exactly as before
group commit (its key stays out of batches until it is done): one bad or blocked message
never fails or holds the others, and its own error reaches its own handler. No savepoints:
one each would be a round trip per body, what grouping saves.

Everything a body does must be in its transaction: it may run twice (in a batch that rolled
back, then alone).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import asyncpg

from common.batching import Batcher, Job
from processors.journal import Journal

R = TypeVar("R")
Body = Callable[[asyncpg.Connection, Journal], Coroutine[Any, Any, R]]
# A test's fault injection (tests/integration/processors/group_crash.py): awaited with the
# point ("begin", "body", "flushed", "committed"), the batch's size and the bodies run so far.
Seam = Callable[[str, int, int], Awaitable[None]]


class GroupCommitter(Batcher[Body[Any], Any]):
    """One writer task per process at a time; `enabled=False` runs every body alone."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        max_batch: int = 64,
        enabled: bool = True,
        lock_wait_ms: int = 250,  # 0: wait as long as it takes (PostgreSQL's lock_timeout)
        seam: Seam | None = None,
    ) -> None:
        super().__init__(max_batch, enabled)
        self.pool = pool
        self.lock_wait_ms = lock_wait_ms
        self.seam = seam

    async def run(self, key: Any, body: Body[R]) -> R:
        """Run `body` in a transaction, perhaps shared; its result once it is committed."""
        result: R = await super().run(key, body)
        return result

    async def _together(self, batch: list[Job[Body[Any]]]) -> list[Any]:
        await self._at("begin", len(batch), 0)
        results: list[Any] = []
        async with self.pool.acquire() as conn:
            await conn.execute(f"BEGIN; SET LOCAL lock_timeout = {int(self.lock_wait_ms)}")
            try:
                journal = Journal()
                for job in batch:
                    results.append(await self._step(job, conn, journal))
                    await self._at("body", len(batch), len(results))
                await journal.flush(conn)
                await self._at("flushed", len(batch), len(results))
            except BaseException:
                # A broken connection is reset by the pool; its error must not take the place
                # of the one raised (a cancellation would be retried as a failed batch).
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
            await self._at("committed", len(batch), len(results))
        return results

    @staticmethod
    def _step(job: Job[Body[Any]], conn: asyncpg.Connection, journal: Journal) -> Awaitable[Any]:
        """The body, in its handler's context (the writer's jobs as a task of their own)."""
        body = job.item(conn, journal)
        if job.context is None:
            return body
        return asyncio.create_task(body, context=job.context)

    async def _alone(self, body: Body[R]) -> R:
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                journal = Journal()
                result = await body(conn, journal)
                await journal.flush(conn)
        return result

    async def _at(self, point: str, size: int, done: int) -> None:
        if self.seam is not None:
            await self.seam(point, size, done)
