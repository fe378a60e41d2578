"""Inbox rows written in bulk before the offset commit (`common.inbox.PendingInbox`, the run
loop's `before_commit`): nothing is committed past a row that is not written."""

import asyncio
import uuid
from typing import Any

from aiokafka import ConsumerRecord
from kafka_fakes import FakeConsumer, record

from common.inbox import Origin, PendingInbox
from common.retry import RetryPolicy
from common.runloop import BeforeCommit, KeyedRunLoop, RunLoopConfig

FAST = RetryPolicy.until_it_works(0.001, 0.002)


class FakePool:
    """Fails the first `fail` executes; remembers the message ids of every written batch."""

    def __init__(self, fail: int = 0, hold: asyncio.Event | None = None) -> None:
        self.fail = fail
        self.hold = hold
        self.batches: list[list[uuid.UUID]] = []

    async def execute(self, sql: str, consumer: str, ids: list[uuid.UUID], *rest: Any) -> None:
        if self.hold is not None:
            await self.hold.wait()
        if self.fail:
            self.fail -= 1
            raise ConnectionError("PostgreSQL away")
        self.batches.append(list(ids))


def _add(pending: PendingInbox, n: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    for offset, message_id in enumerate(ids):
        pending.add(message_id, "PaymentPending", Origin("t", 0, offset))
    return ids


async def test_a_failed_flush_keeps_its_rows_for_the_next() -> None:
    pool = FakePool(fail=1)
    pending = PendingInbox(pool, "c")  # type: ignore[arg-type]
    first = _add(pending, 3)
    try:
        await pending.flush()
        raise AssertionError("the flush should have failed")
    except ConnectionError:
        pass
    second = _add(pending, 2)

    await pending.flush()

    assert pool.batches == [first + second]
    assert len(pending) == 0 and first[0] not in pending


async def test_a_second_flush_waits_for_the_first_and_writes_what_came_meanwhile() -> None:
    hold = asyncio.Event()
    pool = FakePool(hold=hold)
    pending = PendingInbox(pool, "c")  # type: ignore[arg-type]
    first = _add(pending, 2)
    one = asyncio.create_task(pending.flush())
    await asyncio.sleep(0)
    assert first[0] in pending  # being written: still known as handled
    second = _add(pending, 1)
    two = asyncio.create_task(pending.flush())
    await asyncio.sleep(0.01)
    assert not two.done()
    hold.set()
    await asyncio.gather(one, two)

    assert pool.batches == [first, second]


async def _run(consumer: FakeConsumer, before_commit: BeforeCommit, until: asyncio.Event) -> None:
    async def handle(r: ConsumerRecord) -> None:
        return None

    config = RunLoopConfig("test", 64, commit_interval_s=0.01, policy=FAST)
    loop = KeyedRunLoop(
        lambda: consumer,  # type: ignore[arg-type,return-value]
        ["t"],
        handle,
        config,
        before_commit=before_commit,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        await asyncio.wait_for(until.wait(), 5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_nothing_is_committed_while_before_commit_fails() -> None:
    consumer = FakeConsumer([record(i, "k") for i in range(5)])
    calls = 0
    failed_enough = asyncio.Event()

    async def refuse() -> None:
        nonlocal calls
        calls += 1
        if calls >= 5:
            failed_enough.set()
        raise ConnectionError("PostgreSQL away")

    await _run(consumer, refuse, failed_enough)

    assert consumer.commits == []


async def test_offsets_are_committed_once_before_commit_works_again() -> None:
    consumer = FakeConsumer([record(i, "k") for i in range(5)])
    calls: list[int | None] = []
    committed = asyncio.Event()

    async def fail_twice() -> None:
        calls.append(consumer.committed())
        if len(calls) <= 2:
            raise ConnectionError("PostgreSQL away")
        committed.set()

    await _run(consumer, fail_twice, committed)

    assert calls[:3] == [None, None, None]  # each ran before any commit
    assert consumer.committed() == 5
