"""The one Kafka consume loop: key-level parallelism, at-least-once commits, a retry policy.

Every Kafka reader of Billing runs it (the commands and webhooks processors, both consumers).

* One lane per (partition, key): a key's messages are handled strictly in order; different
  keys run concurrently, at most `max_in_flight` messages fetched-but-unfinished at once
  (fetching stops while the process is full; `max_in_flight=1` is one at a time).
  `by_key=False` makes it one lane per partition (the consumers: a record waits for every
  earlier record of its partition, dead letters included).
* Per partition the committed offset only ever reaches the lowest unfinished message (a
  contiguous-done watermark), so a crash redelivers everything not yet finished — handlers
  must be idempotent, which is what the inbox and guarded updates make them. Offsets are
  committed by a task of their own, `commit_interval_s` (1 s) after the first record
  finished since the last commit (each commit is a broker round trip and a write to
  `__consumer_offsets`; nothing finished, no commit), on revocation and at the stop. A kill
  -9 redelivers what finished within that last interval: the inbox turns it away.
* The fetch waits for records (or room, or the stop) as long as it takes: it is not the
  commit's clock, so a quiet reader does not wake up to poll.
* A failing handler is retried in its lane as the `RetryPolicy` says (common/retry.py):
  until it works (the processors), or until its attempts run out or its error is permanent,
  when `give_up` runs (the consumers dead-letter) and the message counts as done. Outages
  are waited out without counting. `give_up` itself is retried until it works.
* On partition revocation, queued work of those partitions is dropped (the next owner gets
  it again), running work is awaited for a while then cancelled, and the watermark committed.
* `already_done` (optional, `common.inbox.SeenInBatch`) is a fast path for a fetched batch:
  one query says which records' messages the inbox already holds, and those count as done
  without reaching a lane. Every handler's own inbox check stays the guard: it is what a
  record that is not skipped here meets, and skipping is only ever what it would have done.
* `before_commit` (optional, `common.inbox.PendingInbox.flush`) runs before every offset
  commit, after the offsets are taken: whatever a record finished before that left for it
  (inbox rows written in bulk) is durable before its offset is. If it fails, nothing is
  committed this time; the next commit tries it again.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from common import logs
from common.inbox import Decoded, Origin
from common.lanes import Lanes, Watermark
from common.retry import RetryPolicy, until_up
from schemas.codec import decode
from schemas.messages import Envelope

log = logging.getLogger(__name__)

Handler = Callable[[ConsumerRecord], Awaitable[None]]
MessageHandler = Callable[[Envelope, Origin], Awaitable[None]]
AlreadyDone = Callable[[Sequence[ConsumerRecord]], Awaitable[Sequence[bool]]]
BeforeCommit = Callable[[], Awaitable[None]]
Batch = dict[TopicPartition, list[ConsumerRecord]]
T = TypeVar("T")
# How long one getmany() waits when nothing comes. Only a bound: the stop and the commits do
# not wait for it (the broker holds the fetch itself up to fetch_max_wait_ms, common/kafka.py).
_FETCH_WAIT_MS = 30_000


def decoding(handle: MessageHandler, decoded: Decoded | None = None) -> Handler:
    """A record handler that decodes first: `UndecodableMessage` is for the policy to treat
    as permanent: every reader dead-letters it (common/dead_letters.py). With `decoded`, a
    message `SeenInBatch` decoded for the record is taken instead (a retry decodes again)."""

    async def on_record(record: ConsumerRecord) -> None:
        origin = Origin.of(record)
        message = decoded.take(record) if decoded is not None else None
        message = message or decode(origin.value)
        logs.bind_message(message)  # undone by record_context when the record is done
        await handle(message, origin)

    return on_record


@dataclass(frozen=True)
class GaveUp:
    """Why a record was given up: its last error, after how many counted attempts."""

    error: BaseException
    attempts: int
    permanent: bool


GiveUp = Callable[[ConsumerRecord, GaveUp], Awaitable[None]]


@dataclass
class RunLoopConfig:
    name: str
    max_in_flight: int = 256
    commit_interval_s: float = 1.0
    revoke_timeout_s: float = 10.0
    by_key: bool = True  # False: one lane per partition
    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy.until_it_works(0.2, 30.0))


class KeyedRunLoop:
    def __init__(
        self,
        make_consumer: Callable[[], AIOKafkaConsumer],
        topics: Iterable[str],
        handler: Handler,
        config: RunLoopConfig,
        give_up: GiveUp | None = None,
        already_done: AlreadyDone | None = None,
        before_commit: BeforeCommit | None = None,
    ) -> None:
        if config.policy.gives_up and give_up is None:
            raise ValueError(f"{config.name}: a policy that gives up needs a give_up action")
        self._make_consumer = make_consumer
        self._topics = list(topics)
        self._handler = handler
        self._config = config
        self._give_up = give_up
        self._already_done = already_done
        self._before_commit = before_commit
        self._marks: dict[TopicPartition, Watermark] = {}
        self._lanes: Lanes[ConsumerRecord] = Lanes(self._run_one, self._finished)
        self._room = asyncio.Event()
        self._progress = asyncio.Event()  # a record finished since the last commit began
        self._commit_lock = asyncio.Lock()  # the periodic, revocation and final commits
        self._consumer: AIOKafkaConsumer | None = None
        self.handled = 0
        self.skipped = 0  # already in the inbox when fetched: never reached a lane

    async def run(self, stop: asyncio.Event) -> None:
        consumer = await until_up(f"{self._config.name}: Kafka", self._start, stop)
        if consumer is None:
            return
        try:
            await self._fetch_loop(consumer, stop)
        finally:
            await self._lanes.close(lambda lane: True, self._config.revoke_timeout_s)
            await self._commit(consumer)
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _start(self) -> AIOKafkaConsumer:
        consumer = self._make_consumer()
        consumer.subscribe(self._topics, listener=_Rebalance(self))
        try:
            await consumer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise
        self._consumer = consumer
        return consumer

    async def _fetch_loop(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        stopped = asyncio.ensure_future(stop.wait())
        committer = asyncio.create_task(self._commit_every_interval(consumer))
        try:
            while not stop.is_set():
                room = self._config.max_in_flight - self._lanes.in_flight
                if room > 0:
                    await self._fetch(consumer, room, stopped)
                else:
                    self._room.clear()
                    await _unless_stopped(self._room.wait(), stopped)
        finally:
            for task in (stopped, committer):
                task.cancel()
            await asyncio.gather(stopped, committer, return_exceptions=True)

    async def _commit_every_interval(self, consumer: AIOKafkaConsumer) -> None:
        """Commit `commit_interval_s` after a record finished: the finished records of that
        interval go in one commit; a reader with nothing finished sends none."""
        while True:
            await self._progress.wait()
            await asyncio.sleep(self._config.commit_interval_s)
            self._progress.clear()
            try:
                committed = await self._commit(consumer)
            except Exception:  # never let the commits stop
                log.exception("%s: periodic commit failed", self._config.name)
                committed = False
            if not committed:  # the flush or the commit failed: again after an interval
                self._progress.set()

    async def _fetch(
        self, consumer: AIOKafkaConsumer, room: int, stopped: "asyncio.Future[Any]"
    ) -> None:
        try:
            batch = await _unless_stopped(
                consumer.getmany(timeout_ms=_FETCH_WAIT_MS, max_records=room), stopped
            )
        except KafkaError as exc:
            log.warning("%s: fetch failed (%s); retrying", self._config.name, exc)
            await _unless_stopped(asyncio.sleep(1.0), stopped)
            return
        if not batch:  # nothing came, or the stop: a batch fetched as it came is read again
            return
        batch, done = await self._done_in(consumer, batch)
        for tp, records in batch.items():
            mark = self._marks.setdefault(tp, Watermark())
            for record in records:
                mark.add(record.offset)
                if id(record) in done:
                    mark.finish(record.offset)
                    self._progress.set()
                    self.skipped += 1
                else:
                    self._lanes.submit((tp, record.key if self._config.by_key else None), record)

    async def _done_in(self, consumer: AIOKafkaConsumer, batch: Batch) -> tuple[Batch, set[int]]:
        """The batch less partitions revoked meanwhile, and the ids of its records whose
        messages `already_done` says are handled (none if it cannot tell)."""
        if self._already_done is None or not batch:
            return batch, set()
        records = [record for records in batch.values() for record in records]
        try:
            flags = await self._already_done(records)
        except Exception as exc:  # PostgreSQL away: the lanes wait it out as they always do
            log.warning("%s: the batch's inbox pre-read failed (%r)", self._config.name, exc)
            flags = [False] * len(records)
        assigned = consumer.assignment()  # a rebalance may have run while we awaited
        kept = {tp: records for tp, records in batch.items() if tp in assigned}
        return kept, {id(r) for r, done in zip(records, flags, strict=True) if done}

    async def _run_one(self, record: ConsumerRecord) -> None:
        with logs.record_context(record.topic, record.partition, record.offset, record.headers):
            await self._run_bound(record)

    async def _run_bound(self, record: ConsumerRecord) -> None:
        failure = await self._attempt(record)
        if failure is None or self._give_up is None:
            return
        tries = 0
        while True:  # the give-up action (a dead letter) must hold before the offset moves
            try:
                await self._give_up(record, failure)
                return
            except Exception as exc:
                tries += 1
                log.warning("%s: giving up %s failed (%r)", self._config.name, _at(record), exc)
                await asyncio.sleep(self._config.policy.outage_backoff(tries))

    async def _attempt(self, record: ConsumerRecord) -> GaveUp | None:
        """None once handled; why it was given up otherwise (never, if the policy never does)."""
        policy = self._config.policy
        attempt = outages = 0
        while True:
            try:
                await self._handler(record)
                return None
            except policy.permanent as exc:
                log.error("%s: permanent failure at %s: %r", self._config.name, _at(record), exc)
                return GaveUp(exc, attempt + 1, permanent=True)
            except policy.outages as exc:
                outages += 1
                delay = policy.outage_backoff(outages)
                log.warning("%s: %s waits out an outage (%r)", self._config.name, _at(record), exc)
                await asyncio.sleep(delay)
            except Exception as exc:
                attempt += 1
                log.warning(
                    "%s: handler failed at %s (attempt %d): %r",
                    self._config.name,
                    _at(record),
                    attempt,
                    exc,
                    exc_info=policy.attempts is None,
                )
                if policy.exhausted(attempt):
                    return GaveUp(exc, attempt, permanent=False)
                await asyncio.sleep(policy.backoff(attempt))

    def _finished(self, record: ConsumerRecord) -> None:
        self.handled += 1
        mark = self._marks.get(TopicPartition(record.topic, record.partition))
        if mark is not None:
            mark.finish(record.offset)
            self._progress.set()
        self._room.set()

    async def _commit(
        self, consumer: AIOKafkaConsumer, only: set[TopicPartition] | None = None
    ) -> bool:
        """Commit every finished offset (of `only`); False if that failed this time."""
        async with self._commit_lock:  # one at a time: a later commit never lands first
            offsets = {
                tp: position
                for tp, mark in self._marks.items()
                if (only is None or tp in only) and (position := mark.committable()) is not None
            }
            if not offsets:
                return True
            if not await self._flushed():
                return False
            try:
                await consumer.commit(offsets)
            except KafkaError as exc:  # rebalance or broker away: the next commit catches up
                log.warning("%s: commit failed (%s)", self._config.name, exc)
                return False
            for tp, position in offsets.items():
                if (mark := self._marks.get(tp)) is not None:
                    mark.committed = position
            return True

    async def _flushed(self) -> bool:
        """Run `before_commit`; False (commit nothing) if it failed."""
        if self._before_commit is None:
            return True
        try:
            await self._before_commit()
            return True
        except Exception as exc:  # PostgreSQL away: the offsets wait, the records stay done
            log.warning("%s: not committing, before_commit failed (%r)", self._config.name, exc)
            return False

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


async def _unless_stopped(work: Awaitable[T], stopped: "asyncio.Future[Any]") -> T | None:
    """`work`'s result, or None once `stopped` is done first (`work` is then cancelled)."""
    task = asyncio.ensure_future(work)
    if not stopped.done():
        await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    if stopped.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return None
    return task.result()


def _lane_tp(lane: Hashable) -> Any:
    return lane[0] if isinstance(lane, tuple) else None


def _at(record: ConsumerRecord) -> str:
    return f"{record.topic}-{record.partition}@{record.offset}"
