"""The one keyed run loop, against a fake consumer: lanes, watermark commits, retry policies."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from kafka_fakes import FakeConsumer, record

from common.retry import RetryPolicy
from common.runloop import GaveUp, KeyedRunLoop, RunLoopConfig

FAST = RetryPolicy.until_it_works(0.001, 0.002)


class Permanent(Exception):
    pass


async def run_until(
    consumer: FakeConsumer,
    handler: Callable[[ConsumerRecord], Awaitable[None]],
    done: Callable[[], bool],
    policy: RetryPolicy = FAST,
    give_up: Any = None,
    by_key: bool = True,
) -> None:
    config = RunLoopConfig("test", 8, commit_interval_s=0.01, policy=policy, by_key=by_key)
    loop = KeyedRunLoop(lambda: consumer, ["t"], handler, config, give_up)  # type: ignore[arg-type,return-value]
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        async with asyncio.timeout(5):
            while not done():  # noqa: ASYNC110 - polling what the fake recorded
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_one_key_in_order_keys_in_parallel_and_everything_committed() -> None:
    records = [record(i, key, partition=0) for i, key in enumerate("abababab")]
    consumer = FakeConsumer(records)
    seen: list[tuple[str, int]] = []

    async def handle(r: ConsumerRecord) -> None:
        await asyncio.sleep(0.02 if r.offset < 2 else 0.0)  # early ones slow: order must hold
        seen.append((r.key.decode(), r.offset))

    await run_until(consumer, handle, lambda: consumer.committed() == 8)
    assert [o for k, o in seen if k == "a"] == [0, 2, 4, 6]
    assert [o for k, o in seen if k == "b"] == [1, 3, 5, 7]
    assert consumer.stopped


async def test_partition_lanes_keep_the_whole_partition_in_order() -> None:
    records = [record(i, key, partition=i % 2) for i, key in enumerate("abcdabcd")]
    consumer = FakeConsumer(records)
    seen: list[tuple[int, int]] = []

    async def handle(r: ConsumerRecord) -> None:
        await asyncio.sleep(0.02 if r.offset < 2 else 0.0)
        seen.append((r.partition, r.offset))

    def done() -> bool:
        return consumer.committed(0) == 7 and consumer.committed(1) == 8

    await run_until(consumer, handle, done, by_key=False)
    assert [o for p, o in seen if p == 0] == [0, 2, 4, 6]
    assert [o for p, o in seen if p == 1] == [1, 3, 5, 7]


async def test_commit_never_passes_an_unfinished_record() -> None:
    consumer = FakeConsumer([record(0, "slow"), record(1, "fast"), record(2, "fast")])
    release = asyncio.Event()
    fast_done: list[int] = []

    async def handle(r: ConsumerRecord) -> None:
        if r.key == b"slow":
            await release.wait()
        else:
            fast_done.append(r.offset)

    async def release_later() -> None:
        while len(fast_done) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # several commit intervals with offset 0 unfinished
        assert consumer.committed() in (None, 0)
        release.set()

    releaser = asyncio.create_task(release_later())
    await run_until(consumer, handle, lambda: consumer.committed() == 3)
    await releaser
    assert fast_done == [1, 2]


async def test_retry_until_it_works_never_gives_up() -> None:
    consumer = FakeConsumer([record(0, "k")])
    calls: list[int] = []

    async def handle(r: ConsumerRecord) -> None:
        calls.append(r.offset)
        if len(calls) < 4:
            raise RuntimeError("provider down")

    await run_until(consumer, handle, lambda: consumer.committed() == 1)
    assert calls == [0, 0, 0, 0]


async def test_retry_then_dead_letter_gives_up_once_and_moves_on_in_the_same_lane() -> None:
    consumer = FakeConsumer([record(0, "k"), record(1, "k")])
    letters: list[tuple[int, GaveUp]] = []
    handled: list[int] = []

    async def handle(r: ConsumerRecord) -> None:
        if r.offset == 0:
            raise RuntimeError("503")
        handled.append(r.offset)

    async def dead_letter(r: ConsumerRecord, why: GaveUp) -> None:
        assert handled == []  # the key's next record waits for the dead letter
        letters.append((r.offset, why))

    policy = RetryPolicy(attempts=3, base_seconds=0.001, max_seconds=0.002)
    await run_until(consumer, handle, lambda: consumer.committed() == 2, policy, dead_letter)
    [(offset, why)] = letters
    assert offset == 0 and why.attempts == 3 and not why.permanent
    assert str(why.error) == "503" and handled == [1]


async def test_a_permanent_error_is_given_up_at_once() -> None:
    consumer = FakeConsumer([record(0, "k")])
    calls: list[int] = []
    letters: list[GaveUp] = []

    async def handle(r: ConsumerRecord) -> None:
        calls.append(r.offset)
        raise Permanent("400")

    async def dead_letter(r: ConsumerRecord, why: GaveUp) -> None:
        letters.append(why)

    policy = RetryPolicy(attempts=5, base_seconds=0.001, permanent=(Permanent,))
    await run_until(consumer, handle, lambda: consumer.committed() == 1, policy, dead_letter)
    assert calls == [0] and len(letters) == 1 and letters[0].permanent


async def test_outages_are_waited_out_without_counting_attempts() -> None:
    consumer = FakeConsumer([record(0, "k")])
    calls: list[int] = []
    letters: list[GaveUp] = []

    async def handle(r: ConsumerRecord) -> None:
        calls.append(r.offset)
        if len(calls) <= 4:
            raise ConnectionRefusedError("PostgreSQL away")

    async def dead_letter(r: ConsumerRecord, why: GaveUp) -> None:
        letters.append(why)

    policy = RetryPolicy(
        attempts=2, base_seconds=0.001, outage_max_seconds=0.002, outages=(OSError,)
    )
    await run_until(consumer, handle, lambda: consumer.committed() == 1, policy, dead_letter)
    assert len(calls) == 5 and letters == []


async def test_a_failing_give_up_is_retried_before_the_offset_moves() -> None:
    consumer = FakeConsumer([record(0, "k")])
    tries: list[int] = []

    async def handle(r: ConsumerRecord) -> None:
        raise Permanent("bad")

    async def dead_letter(r: ConsumerRecord, why: GaveUp) -> None:
        tries.append(r.offset)
        if len(tries) < 3:
            raise ConnectionError("DLQ broker away")

    policy = RetryPolicy(
        attempts=1, outage_max_seconds=0.002, permanent=(Permanent,), outages=(OSError,)
    )
    await run_until(consumer, handle, lambda: consumer.committed() == 1, policy, dead_letter)
    assert tries == [0, 0, 0]


def test_a_policy_that_gives_up_needs_a_give_up_action() -> None:
    config = RunLoopConfig("test", policy=RetryPolicy(attempts=3))

    async def handle(r: ConsumerRecord) -> None:
        return None

    with pytest.raises(ValueError):
        KeyedRunLoop(lambda: FakeConsumer([]), ["t"], handle, config)  # type: ignore[arg-type,return-value]
