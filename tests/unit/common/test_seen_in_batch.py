"""The run loop's batch pre-read of the inbox (`already_done`, `common.inbox.SeenInBatch`):
records it says are done never reach a handler yet are committed; without an answer, or for
a record that does not decode, the handler decides as before."""

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from kafka_fakes import FakeConsumer, record

from common.inbox import Checked, Decoded, Origin, SeenInBatch, message_id_of
from common.retry import RetryPolicy
from common.runloop import AlreadyDone, KeyedRunLoop, RunLoopConfig
from schemas.codec import encode
from schemas.messages import PaymentPending
from tests.events import payment_pending

FAST = RetryPolicy.until_it_works(0.001, 0.002)


async def drain(consumer: FakeConsumer, already_done: AlreadyDone, total: int) -> list[int]:
    """Offsets the handler got, once every record of partition 0 is committed."""
    handled: list[int] = []

    async def handle(r: ConsumerRecord) -> None:
        handled.append(r.offset)

    config = RunLoopConfig("test", 64, commit_interval_s=0.01, policy=FAST)
    loop = KeyedRunLoop(lambda: consumer, ["t"], handle, config, None, already_done)  # type: ignore[arg-type,return-value]
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        async with asyncio.timeout(5):
            while consumer.committed() != total:  # noqa: ASYNC110 - polling the fake
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    return handled


async def test_records_the_inbox_holds_are_committed_without_a_handler() -> None:
    consumer = FakeConsumer([record(i, "k") for i in range(10)])
    asked: list[int] = []

    async def odd_done(records: Sequence[ConsumerRecord]) -> list[bool]:
        asked.append(len(records))
        return [r.offset % 2 == 1 for r in records]

    handled = await drain(consumer, odd_done, 10)

    assert handled == [0, 2, 4, 6, 8]
    assert asked == [10]  # one pre-read for the whole batch


async def test_a_failed_pre_read_hands_every_record_to_its_handler() -> None:
    consumer = FakeConsumer([record(i, "k") for i in range(5)])

    async def broken(records: Sequence[ConsumerRecord]) -> list[bool]:
        raise ConnectionError("PostgreSQL away")

    assert await drain(consumer, broken, 5) == [0, 1, 2, 3, 4]


async def test_records_of_a_partition_revoked_during_the_pre_read_are_left_alone() -> None:
    consumer = FakeConsumer([record(0, "k", partition=0), record(0, "k", partition=1)])
    handled: list[tuple[int, int]] = []

    async def revoking(records: Sequence[ConsumerRecord]) -> list[bool]:
        consumer.revoked.add(TopicPartition("t", 1))
        return [False] * len(records)

    async def handle(r: ConsumerRecord) -> None:
        handled.append((r.partition, r.offset))

    config = RunLoopConfig("test", 64, commit_interval_s=0.01, policy=FAST)
    loop = KeyedRunLoop(lambda: consumer, ["t"], handle, config, None, revoking)  # type: ignore[arg-type,return-value]
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    async with asyncio.timeout(5):
        while consumer.committed(0) != 1:  # noqa: ASYNC110 - polling the fake
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)

    assert handled == [(0, 0)]
    assert consumer.committed(1) is None


class FakePool:
    """Answers the inbox query from a set; counts the statements."""

    def __init__(self, handled: set[uuid.UUID]) -> None:
        self.handled = handled
        self.statements = 0

    async def fetch(self, sql: str, consumer: str, message_ids: list[uuid.UUID]) -> list[Any]:
        self.statements += 1
        assert "= ANY($2::uuid[])" in sql
        return [{"message_id": m} for m in message_ids if m in self.handled]


def pending(n: int) -> PaymentPending:
    return payment_pending(confirmation_url=f"http://x/{n}")


def records_of(values: list[bytes]) -> list[ConsumerRecord]:
    return [record(i, "k", value) for i, value in enumerate(values)]


async def test_one_statement_says_which_messages_are_done() -> None:
    events = [pending(n) for n in range(10)]
    pool = FakePool({e.message_id for e in events[:4]})
    check = SeenInBatch(pool, "c", min_batch=8)  # type: ignore[arg-type]

    flags = await check(records_of([encode(e) for e in events]))

    assert flags == [True] * 4 + [False] * 6
    assert pool.statements == 1


async def test_a_small_batch_costs_no_statement() -> None:
    events = [pending(n) for n in range(3)]
    pool = FakePool({e.message_id for e in events})
    check = SeenInBatch(pool, "c", min_batch=8)  # type: ignore[arg-type]

    assert await check(records_of([encode(e) for e in events])) == [False] * 3
    assert pool.statements == 0


async def test_a_record_that_does_not_decode_goes_to_its_handler_whatever_its_id() -> None:
    """The handler dead-letters what it cannot decode: a known message_id must not hide it."""
    event = pending(0)
    broken = encode(event).replace(b'"PaymentPending"', b'"NoSuchType"')
    pool = FakePool({event.message_id})
    check = SeenInBatch(pool, "c", min_batch=1)  # type: ignore[arg-type]

    assert message_id_of(broken) == event.message_id
    assert await check(records_of([broken, b"not json", b"[1]", encode(event)])) == [
        False,
        False,
        False,
        True,
    ]


async def test_a_looked_up_batch_is_decoded_once_and_its_new_messages_left_for_the_handler(
    monkeypatch: Any,
) -> None:
    """Each record of a looked-up batch is decoded once; `decoded` keeps the ones let through
    (taken by their handler, processors/runtime.py) and none that was skipped."""
    import common.inbox

    events = [pending(n) for n in range(8)]
    calls: list[bytes] = []
    real = common.inbox.decode

    def counting(raw: bytes | str) -> Any:
        calls.append(raw if isinstance(raw, bytes) else raw.encode())
        return real(raw)

    monkeypatch.setattr(common.inbox, "decode", counting)
    decoded = Decoded()
    check = SeenInBatch(FakePool({events[0].message_id}), "c", decoded=decoded)  # type: ignore[arg-type]
    records = records_of([encode(e) for e in events])

    assert await check(records) == [True] + [False] * 7
    assert len(calls) == 8
    assert decoded.take(records[0]) is None
    assert [decoded.take(r) for r in records[1:]] == events[1:]
    assert len(decoded) == 0


def test_decoded_keeps_at_most_its_limit_dropping_the_oldest() -> None:
    decoded = Decoded(limit=2)
    records = records_of([b"a", b"b", b"c"])
    for r, event in zip(records, [pending(n) for n in range(3)], strict=True):
        decoded.put(r, event)

    assert len(decoded) == 2 and decoded.take(records[0]) is None


async def test_a_looked_up_batch_marks_the_records_it_found_not_handled() -> None:
    """`checked` holds the records let through, none that was skipped; `take` clears a mark."""
    events = [pending(n) for n in range(8)]
    checked = Checked()
    check = SeenInBatch(FakePool({events[0].message_id}), "c", checked=checked)  # type: ignore[arg-type]
    records = records_of([encode(e) for e in events])

    await check(records)

    origins = [Origin.of(r) for r in records]
    assert [checked.take(o) for o in origins] == [False] + [True] * 7
    assert not any(checked.take(o) for o in origins) and len(checked) == 0


async def test_a_record_fetched_again_loses_its_mark_unless_looked_up_again() -> None:
    """A mark says what the inbox held at the record's last fetch, never at an earlier one:
    fetched again in a batch that is not looked up (too small) or whose look-up fails, the
    record reaches its handler unmarked, and the handler checks the inbox itself."""
    events = [pending(n) for n in range(8)]
    records = records_of([encode(e) for e in events])
    checked = Checked()
    pool = FakePool(set())
    await SeenInBatch(pool, "c", checked=checked)(records)  # type: ignore[arg-type]

    await SeenInBatch(pool, "c", checked=checked)(records[:2])  # type: ignore[arg-type]
    broken = SeenInBatch(BrokenPool(), "c", min_batch=1, checked=checked)  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        await broken(records[2:])

    assert not any(checked.take(Origin.of(r)) for r in records)


def test_checked_keeps_at_most_its_limit_dropping_the_oldest() -> None:
    checked = Checked(limit=2)
    records = records_of([b"a", b"b", b"c"])
    for r in records:
        checked.add(r)

    assert [checked.take(Origin.of(r)) for r in records] == [False, True, True]


class BrokenPool:
    async def fetch(self, *args: Any) -> list[Any]:
        raise ConnectionError("PostgreSQL away")
