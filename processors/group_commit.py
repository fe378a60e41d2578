"""Group commit: the transaction bodies handlers submit at their commit point, several in one
PostgreSQL transaction (`BEGIN`, the bodies, one journal flush for all, `COMMIT`).

A handler reads and calls the provider as before, then hands its transaction body to
`GroupCommitter.run` and awaits it: it returns only after the COMMIT that holds the body's
writes, so the handler — and the run loop's record, whose offset becomes committable — is
finished only then. One writer task writes one transaction at a time; bodies submitted
while it is busy queue, and it then takes everything queued (at most `max_batch`, one body
per key) as the next one. A lone body is written at once: no latency added when idle.

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
import contextvars
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg

from processors.journal import Journal

log = logging.getLogger(__name__)
R = TypeVar("R")
Body = Callable[[asyncpg.Connection, Journal], Coroutine[Any, Any, R]]
# A test's fault injection (tests/integration/processors/group_crash.py): awaited with the
# point ("begin", "body", "flushed", "committed"), the batch's size and the bodies run so far.
Seam = Callable[[str, int, int], Awaitable[None]]


@dataclass
class _Job:
    key: Hashable
    body: Body[Any]
    done: asyncio.Future[Any]
    # the handler's context (its log fields): the body runs in it, not in the writer's;
    # None: the body is run by its handler's own task (`_inline`)
    context: contextvars.Context | None = field(default_factory=contextvars.copy_context)
    alone: "asyncio.Task[Any] | None" = None  # its retry in a transaction of its own


@dataclass
class GroupCommitter:
    """One writer task per process at a time; `enabled=False` runs every body alone."""

    pool: asyncpg.Pool
    max_batch: int = 64
    enabled: bool = True
    lock_wait_ms: int = 250  # 0: wait as long as it takes (PostgreSQL's lock_timeout)
    seam: Seam | None = None
    batches: int = 0  # committed transactions of more than one body (tests, benches)
    _queue: list[_Job] = field(default_factory=list)
    _alone_keys: Counter[Hashable] = field(default_factory=Counter)  # bodies running alone
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _writer: asyncio.Task[None] | None = None
    _inline_busy: bool = False
    _closed: bool = False

    async def run(self, key: Hashable, body: Body[R]) -> R:
        """Run `body` in a transaction, perhaps shared; its result once it is committed."""
        if not self.enabled:
            return await self._alone(body)
        if not self._queue and not self._writing():
            return await self._inline(key, body)
        job = _Job(key, body, asyncio.get_running_loop().create_future())
        self._queue.append(job)
        self._kick()
        try:
            result: R = await job.done
        except asyncio.CancelledError:  # its handler is stopped: so is its retry, if any
            if job.alone is not None:
                job.alone.cancel()
            raise
        return result

    async def aclose(self) -> None:
        """Stop the writer and every retry alone (a stopping process: their handlers are
        cancelled already), so that no connection is held past the pool's close."""
        self._closed = True  # no writer started again by a retry that ends now
        tasks = [t for t in (self._writer, *self._tasks) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _writing(self) -> bool:
        return self._inline_busy or (self._writer is not None and not self._writer.done())

    def _kick(self) -> None:
        if self._queue and not self._writing() and not self._closed:
            self._writer = asyncio.create_task(self._drain())

    async def _inline(self, key: Hashable, body: Body[R]) -> R:
        """Idle: the lone body is written by its handler's own task at once (no writer task,
        no hop); bodies submitted meanwhile queue for the writer, started when it is done."""
        job = _Job(key, body, asyncio.get_running_loop().create_future(), context=None)
        self._inline_busy = True
        try:
            results = await self._together([job])
        except Exception as exc:  # noqa: BLE001 - run alone, as after any failed batch
            log.info("lone body rolled back (%r): alone without the lock timeout", exc)
            results = None
        finally:
            self._inline_busy = False
            self._kick()
        if results is not None:
            result: R = results[0]
            return result
        self._alone_keys[key] += 1
        try:
            return await self._alone(body)
        finally:
            self._release(key)

    async def _drain(self) -> None:
        batch: list[_Job] = []
        try:
            while batch := self._take():
                await self._write(batch)
        except BaseException as exc:  # the writer itself was cancelled: nothing may hang
            for job in [*batch, *self._queue]:
                if not job.done.done():
                    job.done.set_exception(RuntimeError(f"group writer stopped: {exc!r}"))
            self._queue = []
            raise

    def _take(self) -> list[_Job]:
        """The next batch: queued jobs still awaited, one per key, none whose key is being
        written alone, in key order; the rest keep their place."""
        batch: dict[Hashable, _Job] = {}
        rest: list[_Job] = []
        for job in self._queue:
            if job.done.done():  # its handler was cancelled: nothing waits for it
                continue
            busy = job.key in batch or job.key in self._alone_keys
            if busy or len(batch) >= self.max_batch:
                rest.append(job)
            else:
                batch[job.key] = job
        self._queue = rest
        return [batch[k] for k in sorted(batch, key=str)]

    async def _write(self, batch: list[_Job]) -> None:
        try:
            results = await self._together(batch)
        except Exception as exc:  # noqa: BLE001 - each body is retried alone, errors to its own
            log.info("group of %d rolled back (%r): each body alone", len(batch), exc)
            for job in batch:
                self._start_alone(job)
            return
        self.batches += len(batch) > 1
        for job, result in zip(batch, results, strict=True):
            if not job.done.done():
                job.done.set_result(result)

    async def _together(self, batch: list[_Job]) -> list[Any]:
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
    def _step(job: _Job, conn: asyncpg.Connection, journal: Journal) -> Awaitable[Any]:
        """The body, in its handler's context (the writer's jobs as a task of their own)."""
        body = job.body(conn, journal)
        if job.context is None:
            return body
        return asyncio.create_task(body, context=job.context)

    def _start_alone(self, job: _Job) -> None:
        """Run `job` in its own transaction, beside the writer; its key out of batches."""
        if job.done.done():
            return
        self._alone_keys[job.key] += 1
        task = asyncio.create_task(self._alone(job.body), context=job.context)
        job.alone = task
        self._tasks.add(task)
        # a callback, not a `finally`: a task cancelled before its first step runs none
        task.add_done_callback(lambda done: self._settle_alone(job, done))

    def _settle_alone(self, job: _Job, task: "asyncio.Task[Any]") -> None:
        """Hand the retry's outcome to the handler that submitted it (if still waiting)."""
        self._tasks.discard(task)
        exc = None if task.cancelled() else task.exception()  # retrieved even if unwanted
        if not job.done.done():
            if task.cancelled():
                job.done.set_exception(RuntimeError("group commit stopped"))
            elif exc is not None:
                job.done.set_exception(exc)
            else:
                job.done.set_result(task.result())
        self._release(job.key)

    def _release(self, key: Hashable) -> None:
        """One body of `key` no longer runs alone; the writer may take what waited for it."""
        self._alone_keys[key] -= 1
        if self._alone_keys[key] <= 0:
            del self._alone_keys[key]
        self._kick()

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
