"""The consume loop shared by both consumers: plain aiokafka, one in-order lane per partition.

Why not faust-streaming: see README.md. The loop polls, hands each partition's records to
that partition's lane (an asyncio task that delivers them one by one, in order), and
commits a partition's offset only up to the last record whose effects are committed in
PostgreSQL (or dead-lettered). Partitions run concurrently. A lane that falls behind
(an outage, a retry) has its partition paused so the buffer stays bounded while the
poll loop keeps the group membership alive. On revocation a lane finishes its current
record (bounded wait), its progress is committed, and it is dropped.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from common import logs
from consumers.delivery import OUTAGES, Delivery, Handler
from consumers.inbox import Origin

log = logging.getLogger(__name__)

REVOKE_GRACE_SECONDS = 5.0


@dataclass
class Lane:
    """One partition's records, delivered strictly in order by one task."""

    tp: TopicPartition
    delivery: Delivery
    handle: Handler
    queue: asyncio.Queue[ConsumerRecord] = field(default_factory=asyncio.Queue)
    done: int | None = None  # next offset to commit: every record before it is handled
    committed: int | None = None
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.idle.set()
        self.task = asyncio.create_task(self._work(), name=f"lane-{self.tp}")

    async def _work(self) -> None:
        while True:
            record = await self.queue.get()
            self.idle.clear()
            await self._deliver(record)
            self.done = record.offset + 1
            self.idle.set()

    async def _deliver(self, record: ConsumerRecord) -> None:
        """`deliver` handles every foreseen failure; a bug must not drop the record either."""
        while True:
            try:
                with logs.record_context(
                    record.topic, record.partition, record.offset, record.headers
                ):
                    await self.delivery.deliver(origin_of(record), self.handle)
                return
            except Exception:
                log.exception("%s: delivery crashed; retrying the same record", self.tp)
                await asyncio.sleep(5)

    async def stop(self, grace: float) -> None:
        """Drop what is buffered, let the record in flight finish (bounded), then cancel."""
        while not self.queue.empty():
            self.queue.get_nowait()
        if self.task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), grace)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    def pending(self) -> int:
        return self.queue.qsize() + int(not self.idle.is_set())


def origin_of(record: ConsumerRecord) -> Origin:
    key = record.key.decode("utf-8", errors="replace") if record.key is not None else None
    return Origin(record.topic, record.partition, record.offset, key, record.value or b"")


class Lanes(ConsumerRebalanceListener):
    def __init__(self, consumer: AIOKafkaConsumer, delivery: Delivery, handle: Handler) -> None:
        self.consumer = consumer
        self.delivery = delivery
        self.handle = handle
        self.by_tp: dict[TopicPartition, Lane] = {}

    def feed(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        lane = self.by_tp.get(tp)
        if lane is None:
            lane = self.by_tp[tp] = Lane(tp, self.delivery, self.handle)
            lane.start()
        for record in records:
            lane.queue.put_nowait(record)

    def throttle(self, limit: int) -> None:
        """Pause partitions whose lane is behind, resume those that caught up."""
        paused = self.consumer.paused()
        for tp, lane in self.by_tp.items():
            if lane.pending() >= limit and tp not in paused:
                self.consumer.pause(tp)
            elif lane.pending() < limit // 2 and tp in paused:
                self.consumer.resume(tp)

    async def commit(self) -> None:
        offsets = {
            tp: lane.done
            for tp, lane in self.by_tp.items()
            if lane.done is not None and lane.done != lane.committed
        }
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:  # retried next loop; after a rebalance the inbox dedupes
            log.warning("offset commit failed (%r); will retry", exc)
            return
        for tp, offset in offsets.items():
            if tp in self.by_tp:
                self.by_tp[tp].committed = offset

    async def close(self, tps: list[TopicPartition] | None = None) -> None:
        chosen = list(self.by_tp) if tps is None else [tp for tp in tps if tp in self.by_tp]
        await asyncio.gather(*(self.by_tp[tp].stop(REVOKE_GRACE_SECONDS) for tp in chosen))
        await self.commit()
        for tp in chosen:
            self.by_tp.pop(tp, None)

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.close(list(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        for tp in assigned:
            if tp in self.consumer.paused():
                self.consumer.resume(tp)


async def consume(
    consumer: AIOKafkaConsumer,
    topic: str,
    delivery: Delivery,
    handle: Handler,
    stop: asyncio.Event,
    max_buffered: int,
) -> None:
    """Poll `topic` until `stop` is set, committing each partition as its lane progresses."""
    lanes = Lanes(consumer, delivery, handle)
    consumer.subscribe([topic], listener=lanes)
    try:
        while not stop.is_set():
            try:
                batches = await consumer.getmany(timeout_ms=200, max_records=max_buffered)
            except KafkaError as exc:
                log.warning("poll failed (%r); retrying", exc)
                await asyncio.sleep(1)
                continue
            for tp, records in batches.items():
                lanes.feed(tp, records)
            lanes.throttle(max_buffered)
            await lanes.commit()
    finally:
        await lanes.close()


async def until_up(
    what: str, connect: Callable[[], Awaitable[object]], stop: asyncio.Event
) -> bool:
    """Retry `connect` through outages until it works (True) or we are asked to stop (False)."""
    tries = 0
    while not stop.is_set():
        try:
            await connect()
            return True
        except (*OUTAGES, asyncpg.InterfaceError) as exc:
            tries += 1
            log.warning("%s unavailable (%r); retrying", what, exc)
            await asyncio.sleep(min(5.0, 0.2 * 2**tries))
    return False
