"""The run loop's commit cadence: periodic commits at most every `commit_every_s`, while a
graceful stop and a revocation commit every finished record at once (never an unfinished one)."""

import asyncio
import time

from aiokafka import ConsumerRecord, TopicPartition
from kafka_fakes import FakeConsumer, record

from common.retry import RetryPolicy
from common.runloop import KeyedRunLoop, RunLoopConfig

FAST = RetryPolicy.until_it_works(0.001, 0.002)
HOLD_S = 2.0  # long enough that a loaded box does not reach the next periodic commit


class DrippingConsumer(FakeConsumer):
    """Hands out one record per fetch (records arriving one by one), timing every commit."""

    def __init__(self, records: list[ConsumerRecord]) -> None:
        super().__init__(records)
        self.commit_times: list[float] = []

    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        batch = await super().getmany(timeout_ms, 1)
        if batch:
            await asyncio.sleep(timeout_ms / 1000)
        return batch

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commit_times.append(time.monotonic())
        await super().commit(offsets)


def loop_of(consumer: FakeConsumer, handle: object, every_s: float) -> KeyedRunLoop:
    config = RunLoopConfig("test", 64, commit_interval_s=0.01, commit_every_s=every_s, policy=FAST)
    return KeyedRunLoop(lambda: consumer, ["t"], handle, config)  # type: ignore[arg-type,return-value]


async def wait_for(condition: object, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110 - polling a fake
            await asyncio.sleep(0.005)


async def test_records_one_by_one_are_committed_at_most_every_commit_every_s() -> None:
    consumer = DrippingConsumer([record(i, f"k{i}") for i in range(40)])

    async def handle(r: ConsumerRecord) -> None:
        return None

    loop, stop = loop_of(consumer, handle, every_s=0.15), asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        await wait_for(lambda: consumer.committed() == 40)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)

    gaps = [b - a for a, b in zip(consumer.commit_times, consumer.commit_times[1:], strict=False)]
    assert loop.handled == 40
    assert 2 <= len(consumer.commit_times) < 40 / 2  # 40 fetches of one record, ≥ 0.4 s
    assert all(gap >= 0.15 for gap in gaps[:-1])  # the last one may be the stop's own
    committed = [c[TopicPartition("t", 0)] for c in consumer.commits]
    assert committed == sorted(committed)


async def test_a_graceful_stop_commits_finished_records_without_waiting_for_the_cadence() -> None:
    consumer = DrippingConsumer([record(i, "k") for i in range(3)])
    release = asyncio.Event()

    async def handle(r: ConsumerRecord) -> None:
        if r.key == b"slow":
            await release.wait()

    loop, stop = loop_of(consumer, handle, every_s=HOLD_S), asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await wait_for(lambda: consumer.committed() == 3)  # the second periodic commit
    consumer.queue.extend(record(i, "k") for i in range(3, 5))
    consumer.queue.extend([record(5, "slow"), record(6, "other")])  # 5 waits for `release`
    await wait_for(lambda: loop.handled >= 5)
    await asyncio.sleep(0.1)  # ten fetch turns: the cadence holds the commit back
    assert consumer.committed() == 3 and time.monotonic() - consumer.commit_times[-1] < HOLD_S

    stop.set()
    asyncio.get_running_loop().call_later(0.05, release.set)
    await asyncio.wait_for(task, 5)
    assert loop.handled == 7 and consumer.committed() == 7  # 5 finished while the stop waited


async def test_a_stop_never_commits_past_an_unfinished_record() -> None:
    consumer = FakeConsumer([record(0, "k"), record(1, "slow"), record(2, "k")])

    async def handle(r: ConsumerRecord) -> None:
        if r.key == b"slow":
            await asyncio.sleep(60)  # still running when the stop gives up on it

    config = RunLoopConfig(
        "test", 64, commit_interval_s=0.01, commit_every_s=60.0, revoke_timeout_s=0.1, policy=FAST
    )
    loop = KeyedRunLoop(lambda: consumer, ["t"], handle, config)  # type: ignore[arg-type,return-value]
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await wait_for(lambda: loop.handled == 2)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert consumer.committed() == 1  # offset 1 (unfinished) is redelivered, and 2 after it


async def test_a_revocation_commits_the_revoked_partitions_at_once() -> None:
    consumer = DrippingConsumer([record(i // 2, "k", partition=i % 2) for i in range(6)])

    async def handle(r: ConsumerRecord) -> None:
        return None

    loop, stop = loop_of(consumer, handle, every_s=HOLD_S), asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        await wait_for(lambda: consumer.committed(0) == 3 and consumer.committed(1) == 3)
        consumer.queue.extend(record(i // 2, "k", partition=i % 2) for i in range(6, 10))
        await wait_for(lambda: loop.handled == 10)
        await asyncio.sleep(0.05)
        assert consumer.committed(0) == 3 and consumer.committed(1) == 3  # held back
        assert time.monotonic() - consumer.commit_times[-1] < HOLD_S
        await loop.revoke({TopicPartition("t", 1)})
        assert consumer.committed(1) == 5 and consumer.committed(0) == 3
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert consumer.committed(0) == 5
