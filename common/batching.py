"""Batching of concurrent database work by key: what arrives while a batch is being written
is written together next, as one (`Batcher`). The processors' group commit
(`processors.group_commit`: transaction bodies in one transaction) and the gateway's accept
statement (`gateway.accepting`: one multi-row statement) are its two kinds.

One writer task writes one batch at a time; work submitted while it is busy queues, and it
then takes everything queued (at most `max_batch`, one item per key, in key order) as the
next batch. A lone item is written at once by its caller's own task (`_first`): no latency
added when idle, no timer. Keys are what must not be written twice by one batch (a user's
rows and locks); key order makes two processes' batches lock in the same order.

A batch that fails for any reason is written again item by item (`_alone`), concurrently,
each item's own outcome (result or error) to its own caller, its key kept out of batches
until it is done: one bad or blocked item never fails or holds the others. A caller that is
cancelled while queued is dropped from the queue; while its item retries alone, the retry
is cancelled with it. `aclose` stops the writer and the retries.
"""

import asyncio
import contextvars
import logging
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from common import logs

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Job(Generic[T]):
    key: Hashable
    item: T
    done: asyncio.Future[Any]
    # the caller's context (its log fields): a retry alone runs in it, not in the writer's;
    # None: the item is written by its caller's own task (`_first`)
    context: contextvars.Context | None = field(default_factory=contextvars.copy_context)
    alone: "asyncio.Task[Any] | None" = None  # its retry alone


class Batcher(Generic[T, R]):
    """Subclasses say how a batch is written (`_together`, all or nothing, one result per
    job in order) and how one item is (`_alone`); `enabled=False` writes every item alone.
    `writers`: how many batches (a lone item counts as one) may be in flight at once."""

    def __init__(self, max_batch: int = 64, enabled: bool = True, writers: int = 1) -> None:
        self.max_batch = max_batch
        self.enabled = enabled
        self.writers = writers
        self.batches = 0  # batches of more than one item written (tests, benches)
        self.sizes: Counter[int] = Counter()  # items per batch the writers wrote (benches)
        self._queue: list[Job[T]] = []
        self._busy_keys: Counter[Hashable] = Counter()  # keys being written, alone or not
        self._tasks: set[asyncio.Task[Any]] = set()  # retries alone
        self._writers: set[asyncio.Task[None]] = set()  # batches in flight
        self._in_flight = 0  # batches and lone items being written
        self._closed = False

    async def run(self, key: Hashable, item: T) -> R:
        """Write `item`, perhaps with others; its result once written."""
        if not self.enabled:
            return await self._alone(item)
        if not self._queue and not self._writing() and key not in self._busy_keys:
            return await self._inline(Job(key, item, _future(), context=None))
        job: Job[T] = Job(key, item, _future())
        self._queue.append(job)
        self._kick()
        try:
            result: R = await job.done
        except asyncio.CancelledError:  # its caller is stopped: so is its retry, if any
            if job.alone is not None:
                job.alone.cancel()
            raise
        return result

    async def aclose(self) -> None:
        """Stop the writers and every retry alone (a stopping process: their callers are
        cancelled already), so that no connection is held past the pool's close."""
        self._closed = True  # no writer started again by a retry that ends now
        tasks = [t for t in (*self._writers, *self._tasks) if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for job in self._queue:
            if not job.done.done():
                job.done.set_exception(RuntimeError("batch writer stopped"))
        self._queue = []

    async def _together(self, batch: list[Job[T]]) -> list[R]:
        raise NotImplementedError

    async def _alone(self, item: T) -> R:
        raise NotImplementedError

    async def _first(self, job: Job[T]) -> list[R] | None:
        """A lone item's write by its caller's task, while the writers wait (items that
        come meanwhile queue): its result in a list, or None to write it alone after all,
        not holding the others back. Here: a batch of one, alone if that fails."""
        try:
            return await self._together([job])
        except Exception as exc:  # noqa: BLE001 - written alone, as after any failed batch
            log.info("lone item failed (%r): alone", exc)
            return None

    def _writing(self) -> bool:
        return self._in_flight >= self.writers

    def _kick(self) -> None:
        """Start writing queued batches, as many as may be in flight."""
        while self._queue and not self._writing() and not self._closed:
            batch = self._take()
            if not batch:  # what is queued waits for its keys
                return
            self._hold(batch)
            # the batch serves many requests: its lines carry none of their ids
            task = asyncio.create_task(self._write(batch), context=logs.without_request())
            self._writers.add(task)
            task.add_done_callback(self._writers.discard)

    def _hold(self, batch: list[Job[T]]) -> None:
        self._in_flight += 1
        self._busy_keys.update(job.key for job in batch)

    def _unhold(self, batch: list[Job[T]]) -> None:
        self._in_flight -= 1
        for job in batch:
            self._unbusy(job.key)
        self._kick()

    async def _inline(self, job: Job[T]) -> R:
        """Idle: the lone item is written by its caller's own task at once (no writer task,
        no hop); items submitted meanwhile queue for the writers, started when it is done."""
        self._hold([job])
        try:
            results = await self._first(job)
        finally:
            self._unhold([job])
        if results is not None:
            return results[0]
        self._busy_keys[job.key] += 1
        try:
            return await self._alone(job.item)
        finally:
            self._release(job.key)

    def _take(self) -> list[Job[T]]:
        """The next batch: queued jobs still awaited, one per key, none whose key is being
        written (in another batch, or alone), in key order; the rest keep their place."""
        batch: dict[Hashable, Job[T]] = {}
        rest: list[Job[T]] = []
        for job in self._queue:
            if job.done.done():  # its caller was cancelled: nothing waits for it
                continue
            busy = job.key in batch or job.key in self._busy_keys
            if busy or len(batch) >= self.max_batch:
                rest.append(job)
            else:
                batch[job.key] = job
        self._queue = rest
        return [batch[k] for k in sorted(batch, key=str)]

    async def _write(self, batch: list[Job[T]]) -> None:
        try:
            results = await self._together(batch)
        except Exception as exc:  # noqa: BLE001 - each item is retried alone, errors to its own
            log.info("batch of %d failed (%r): each item alone", len(batch), exc)
            for job in batch:
                self._start_alone(job)
            return
        except BaseException as exc:  # the writer itself was cancelled: nothing may hang
            for job in batch:
                if not job.done.done():
                    job.done.set_exception(RuntimeError(f"batch writer stopped: {exc!r}"))
            raise
        finally:
            self._unhold(batch)
        self.batches += len(batch) > 1
        self.sizes[len(batch)] += 1
        for job, result in zip(batch, results, strict=True):
            if not job.done.done():
                job.done.set_result(result)

    def _start_alone(self, job: Job[T]) -> None:
        """Write `job` alone, beside the writer; its key out of batches meanwhile."""
        if job.done.done():
            return
        self._busy_keys[job.key] += 1
        task = asyncio.create_task(self._alone(job.item), context=job.context)
        job.alone = task
        self._tasks.add(task)
        # a callback, not a `finally`: a task cancelled before its first step runs none
        task.add_done_callback(lambda done: self._settle_alone(job, done))

    def _settle_alone(self, job: Job[T], task: "asyncio.Task[Any]") -> None:
        """Hand the retry's outcome to the caller that submitted it (if still waiting)."""
        self._tasks.discard(task)
        exc = None if task.cancelled() else task.exception()  # retrieved even if unwanted
        if not job.done.done():
            if task.cancelled():
                job.done.set_exception(RuntimeError("batch writer stopped"))
            elif exc is not None:
                job.done.set_exception(exc)
            else:
                job.done.set_result(task.result())
        self._release(job.key)

    def _release(self, key: Hashable) -> None:
        """One item of `key` no longer written alone; the writer may take what waited."""
        self._unbusy(key)
        self._kick()

    def _unbusy(self, key: Hashable) -> None:
        """One item of `key` no longer written; the key is free once none is."""
        self._busy_keys[key] -= 1
        if self._busy_keys[key] <= 0:
            del self._busy_keys[key]


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()
