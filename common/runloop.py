"""A Kafka consumer run loop with key-level parallelism and at-least-once commits.

* One lane per (partition, key): a key's messages are handled strictly in order; different
  keys run concurrently, at most `max_in_flight` messages fetched-but-unfinished at once
  (fetching stops while the process is full; `max_in_flight=1` is one at a time).
* Per partition the committed offset only ever reaches the lowest unfinished message (a
  contiguous-done watermark), so a crash redelivers everything not yet finished — handlers
  must be idempotent, which is what the inbox and guarded updates make them.
* A handler exception is retried with capped exponential backoff in its lane, never skipped,
  unless its type is listed as permanent (then `on_permanent` decides, and the message counts
  as done).
* On partition revocation, queued work of those partitions is dropped (the next owner gets
  it again), running work is awaited for a while then cancelled, and the watermark committed.
"""

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from common import logs

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[[ConsumerRecord], Awaitable[None]]


class Watermark:
    """Offsets of one partition in fetch order; what is safe to commit is contiguous-done."""

    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._done: set[int] = set()
        self._next: int | None = None
        self.committed: int | None = None

    def add(self, offset: int) -> None:
        if self._next is not None and offset < self._next:
            raise ValueError(f"offset {offset} fetched after {self._next - 1}")
        self._pending.append(offset)
        self._next = offset + 1

    def finish(self, offset: int) -> None:
        self._done.add(offset)
        while self._pending and self._pending[0] in self._done:
            self._done.discard(self._pending.popleft())

    def committable(self) -> int | None:
        """The offset to commit (the next one to read), or None when nothing changed."""
        position = self._pending[0] if self._pending else self._next
        if position is None or position == self.committed:
            return None
        return position

    @property
    def unfinished(self) -> int:
        return len(self._pending)


@dataclass
class Lanes(Generic[T]):
    """Sequential lanes keyed by any hashable; lanes run concurrently."""

    run_one: Callable[[T], Awaitable[None]]
    on_finished: Callable[[T], None]
    _queues: dict[Hashable, deque[T]] = field(default_factory=dict)
    _tasks: dict[Hashable, asyncio.Task[None]] = field(default_factory=dict)

    @property
    def in_flight(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def submit(self, lane: Hashable, item: T) -> None:
        self._queues.setdefault(lane, deque()).append(item)
        if lane not in self._tasks:
            self._tasks[lane] = asyncio.create_task(self._drain(lane))

    async def _drain(self, lane: Hashable) -> None:
        queue = self._queues[lane]
        try:
            while queue:
                item = queue[0]
                await self.run_one(item)
                if queue and queue[0] is item:
                    queue.popleft()
                    self.on_finished(item)
        finally:
            self._tasks.pop(lane, None)
            if not queue:
                self._queues.pop(lane, None)

    async def close(self, lanes: Callable[[Hashable], bool], grace_s: float) -> None:
        """Drop queued items of the chosen lanes, wait for running ones, cancel the stragglers."""
        chosen = [lane for lane in list(self._queues) if lanes(lane)]
        for lane in chosen:
            queue = self._queues[lane]
            while len(queue) > 1:
                queue.pop()
        tasks = [self._tasks[lane] for lane in chosen if lane in self._tasks]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for lane in chosen:
            self._queues.pop(lane, None)


def backoff(attempt: int, base: float, cap: float) -> float:
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


@dataclass
class RunLoopConfig:
    name: str
    max_in_flight: int = 256
    commit_interval_s: float = 0.2
    retry_base_s: float = 0.2
    retry_cap_s: float = 30.0
    revoke_timeout_s: float = 10.0
    permanent: tuple[type[BaseException], ...] = ()


class KeyedRunLoop:
    def __init__(
        self,
        make_consumer: Callable[[], AIOKafkaConsumer],
        topics: Iterable[str],
        handler: Handler,
        config: RunLoopConfig,
        on_permanent: Callable[[ConsumerRecord, BaseException], Awaitable[None]] | None = None,
    ) -> None:
        self._make_consumer = make_consumer
        self._topics = list(topics)
        self._handler = handler
        self._config = config
        self._on_permanent = on_permanent
        self._marks: dict[TopicPartition, Watermark] = {}
        self._lanes: Lanes[ConsumerRecord] = Lanes(self._run_one, self._finished)
        self._room = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self.handled = 0

    async def run(self, stop: asyncio.Event) -> None:
        consumer = await self._start(stop)
        if consumer is None:
            return
        try:
            await self._fetch_loop(consumer, stop)
        finally:
            await self._lanes.close(lambda lane: True, self._config.revoke_timeout_s)
            await self._commit(consumer)
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _start(self, stop: asyncio.Event) -> AIOKafkaConsumer | None:
        attempt = 0
        while not stop.is_set():
            consumer = self._make_consumer()
            consumer.subscribe(self._topics, listener=_Rebalance(self))
            try:
                await consumer.start()
            except KafkaError as exc:
                attempt += 1
                log.warning("%s: Kafka not reachable (%s); retrying", self._config.name, exc)
                with contextlib.suppress(Exception):
                    await consumer.stop()
                await _sleep_or_stop(stop, backoff(attempt, 0.5, 10.0))
                continue
            self._consumer = consumer
            return consumer
        return None

    async def _fetch_loop(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        interval_ms = int(self._config.commit_interval_s * 1000)
        while not stop.is_set():
            room = self._config.max_in_flight - self._lanes.in_flight
            if room <= 0:
                self._room.clear()
                await _wait(self._room, self._config.commit_interval_s)
            else:
                await self._fetch(consumer, room, interval_ms)
            await self._commit(consumer)

    async def _fetch(self, consumer: AIOKafkaConsumer, room: int, timeout_ms: int) -> None:
        try:
            batch = await consumer.getmany(timeout_ms=timeout_ms, max_records=room)
        except KafkaError as exc:
            log.warning("%s: fetch failed (%s); retrying", self._config.name, exc)
            await asyncio.sleep(1.0)
            return
        for tp, records in batch.items():
            mark = self._marks.setdefault(tp, Watermark())
            for record in records:
                mark.add(record.offset)
                self._lanes.submit((tp, record.key), record)

    async def _run_one(self, record: ConsumerRecord) -> None:
        attempt = 0
        while True:
            try:
                with logs.record_context(
                    record.topic, record.partition, record.offset, record.headers
                ):
                    await self._handler(record)
                return
            except asyncio.CancelledError:
                raise
            except self._config.permanent as exc:
                log.error(
                    "%s: permanent failure at %s-%s@%s: %r",
                    self._config.name,
                    record.topic,
                    record.partition,
                    record.offset,
                    exc,
                )
                if self._on_permanent is not None:
                    await self._on_permanent(record, exc)
                return
            except Exception:
                attempt += 1
                log.exception(
                    "%s: handler failed at %s-%s@%s (attempt %d); retrying",
                    self._config.name,
                    record.topic,
                    record.partition,
                    record.offset,
                    attempt,
                )
                await asyncio.sleep(
                    backoff(attempt, self._config.retry_base_s, self._config.retry_cap_s)
                )

    def _finished(self, record: ConsumerRecord) -> None:
        self.handled += 1
        mark = self._marks.get(TopicPartition(record.topic, record.partition))
        if mark is not None:
            mark.finish(record.offset)
        self._room.set()

    async def _commit(
        self, consumer: AIOKafkaConsumer, only: set[TopicPartition] | None = None
    ) -> None:
        offsets = {
            tp: position
            for tp, mark in self._marks.items()
            if (only is None or tp in only) and (position := mark.committable()) is not None
        }
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # rebalance or broker away: the next commit catches up
            log.warning("%s: commit failed (%s)", self._config.name, exc)
            return
        for tp, position in offsets.items():
            self._marks[tp].committed = position

    async def revoke(self, partitions: set[TopicPartition]) -> None:
        await self._lanes.close(
            lambda lane: _lane_tp(lane) in partitions, self._config.revoke_timeout_s
        )
        if self._consumer is not None:
            await self._commit(self._consumer, only=partitions)
        for tp in partitions:
            self._marks.pop(tp, None)
        self._room.set()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: KeyedRunLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._loop.revoke(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


def _lane_tp(lane: Hashable) -> Any:
    return lane[0] if isinstance(lane, tuple) else None


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    await _wait(stop, seconds)
