"""In-memory stand-ins for aiokafka's consumer and producer, for the run loop's unit tests."""

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition


def record(offset: int, key: str, value: bytes = b"{}", partition: int = 0) -> ConsumerRecord:
    return ConsumerRecord("t", partition, offset, 0, 0, key.encode(), value, None, 0, 0, [])


class FakeConsumer:
    """Hands out the given records in order, then nothing; remembers every commit."""

    def __init__(self, records: Iterable[ConsumerRecord]) -> None:
        self.queue = list(records)
        self.partitions = {TopicPartition(r.topic, r.partition) for r in self.queue}
        self.commits: list[dict[TopicPartition, int]] = []
        self.stopped = False
        self.revoked: set[TopicPartition] = set()  # as if a rebalance took them away

    def assignment(self) -> set[TopicPartition]:
        """Every partition of the records it was given, less the revoked ones."""
        return self.partitions - self.revoked

    def subscribe(self, topics: list[str], listener: Any = None) -> None:
        self.listener = listener

    async def start(self) -> None:
        return None

    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        take = len(self.queue) if max_records is None else max_records
        batch, self.queue = self.queue[:take], self.queue[take:]
        if not batch:
            await asyncio.sleep(timeout_ms / 1000)
        out: dict[TopicPartition, list[ConsumerRecord]] = {}
        for r in batch:
            out.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
        return out

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))

    async def stop(self) -> None:
        self.stopped = True

    def committed(self, partition: int = 0) -> int | None:
        tp = TopicPartition("t", partition)
        found = [c[tp] for c in self.commits if tp in c]
        return found[-1] if found else None


class FakeProducer:
    """An AIOKafkaProducer that acks or fails each send as told."""

    def __init__(self, fail_sends: int = 0, ack: bool = True) -> None:
        self.fail_sends = fail_sends
        self.ack = ack  # False: sends are never acked (a broker that stopped answering)
        self.sent: list[tuple[str, bytes, bytes | None, Any]] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None
    ) -> "asyncio.Future[None]":
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail_sends:
            self.fail_sends -= 1
            done.set_exception(RuntimeError("OutOfOrderSequenceNumber"))
        else:
            self.sent.append((topic, value, key, headers))
            if self.ack:
                done.set_result(None)
        return done
