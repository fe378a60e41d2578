"""The run loop commits offsets at most every `commit_interval_s` while records keep coming,
and everything handled is committed at the stop."""

import asyncio

from aiokafka import ConsumerRecord, TopicPartition
from kafka_fakes import FakeConsumer, record

from common.retry import RetryPolicy
from common.runloop import KeyedRunLoop, RunLoopConfig

FAST = RetryPolicy.until_it_works(0.001, 0.002)


class OneAtATime(FakeConsumer):
    """Hands out one record per fetch, `every` seconds apart: a trickle of small fetches."""

    def __init__(self, records: list[ConsumerRecord], every: float) -> None:
        super().__init__(records)
        self.every = every
        self.fetches = 0

    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        self.fetches += 1
        await asyncio.sleep(self.every)
        return await super().getmany(timeout_ms, 1)


async def test_a_trickle_of_records_is_committed_every_interval_not_every_fetch() -> None:
    consumer = OneAtATime([record(i, "k") for i in range(40)], every=0.005)
    handled: list[int] = []

    async def handle(r: ConsumerRecord) -> None:
        handled.append(r.offset)

    config = RunLoopConfig("test", 64, commit_interval_s=0.1, policy=FAST)
    loop = KeyedRunLoop(lambda: consumer, ["t"], handle, config)  # type: ignore[arg-type,return-value]
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    async with asyncio.timeout(5):
        while len(handled) < 40:  # noqa: ASYNC110 - polling the fake (a stop drops queued work)
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)

    assert consumer.fetches >= 40
    assert len(consumer.commits) <= 40 // 4  # ≥ 0.2 s of fetches, one commit per 0.1 s
    assert consumer.committed() == 40  # the stop commits the rest


class Counting(FakeConsumer):
    """Counts the fetches that found nothing (a reader waking up to poll)."""

    def __init__(self, records: list[ConsumerRecord]) -> None:
        super().__init__(records)
        self.empty_fetches = 0

    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        if not self.queue:
            self.empty_fetches += 1
        return await super().getmany(timeout_ms, max_records)


async def test_a_quiet_reader_neither_polls_nor_commits_and_its_stop_is_immediate() -> None:
    consumer = Counting([record(i, "k") for i in range(3)])
    handled = asyncio.Event()

    async def handle(r: ConsumerRecord) -> None:
        if r.offset == 2:
            handled.set()

    config = RunLoopConfig("test", 64, commit_interval_s=0.05, policy=FAST)
    loop = KeyedRunLoop(lambda: consumer, ["t"], handle, config)  # type: ignore[arg-type,return-value]
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await asyncio.wait_for(handled.wait(), 5)
    await asyncio.sleep(0.5)  # ten commit intervals with nothing new
    assert consumer.committed() == 3  # committed an interval after the work finished
    assert len(consumer.commits) == 1  # and not again: nothing finished since
    assert consumer.empty_fetches == 1  # one fetch, still waiting: no wake-up per interval

    stop.set()
    await asyncio.wait_for(task, 0.5)  # the stop does not wait for the fetch to time out
    assert consumer.stopped


async def test_the_stop_commits_what_was_done_at_once_whatever_the_interval() -> None:
    consumer = FakeConsumer([record(i, "k") for i in range(5)])
    handled: list[int] = []

    async def handle(r: ConsumerRecord) -> None:
        handled.append(r.offset)

    config = RunLoopConfig("test", 64, commit_interval_s=30.0, policy=FAST)
    loop = KeyedRunLoop(lambda: consumer, ["t"], handle, config)  # type: ignore[arg-type,return-value]
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    async with asyncio.timeout(5):
        while len(handled) < 5:  # noqa: ASYNC110 - polling the fake
            await asyncio.sleep(0.01)
    assert consumer.commits == []  # the interval has not passed
    stop.set()
    await asyncio.wait_for(task, 1)
    assert consumer.commits == [{TopicPartition("t", 0): 5}]
