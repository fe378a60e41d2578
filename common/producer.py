"""The one Kafka producer of every process: idempotent, acks=all, and it heals itself.

aiokafka issue #1017: after a broker restart an idempotent producer can stay stuck on
OutOfOrderSequenceNumber forever. Any failed send therefore throws the producer away; the
next send builds a fresh one (new producer id, sequences from zero). The caller retries (or
answers 503): safe, because every message carries its deterministic message_id.

`send`/`send_all` return only once every message is acknowledged by all in-sync replicas,
within `timeout_s` when one is given.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, TypeVar

from aiokafka import AIOKafkaProducer

from common import logs
from common.kafka import make_producer
from common.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
Headers = Sequence[tuple[str, bytes]]
ProducerFactory = Callable[[], AIOKafkaProducer]


class Message(NamedTuple):
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers | None = None


class Producer:
    def __init__(
        self,
        settings: Settings,
        *,
        timeout_s: float | None = None,
        factory: ProducerFactory | None = None,
    ) -> None:
        self._factory = factory or (lambda: make_producer(settings))
        self._timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def send(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: Headers | None = None
    ) -> None:
        await self.send_all([Message(topic, key, value, headers)])

    async def send_all(self, messages: Sequence[Message]) -> None:
        producer = await self.start()
        try:
            await self._bounded(_deliver(producer, messages))
        except Exception:
            await self._discard(producer)
            raise

    async def start(self) -> AIOKafkaProducer:
        """The running producer, starting a fresh one if there is none."""
        async with self._lock:
            if self._producer is None:
                producer = self._factory()
                try:
                    # Its tasks outlive whatever request started it: no request id in their logs.
                    started = asyncio.create_task(producer.start(), context=logs.without_request())
                    await self._bounded(started)
                except Exception:
                    await _stop(producer)
                    raise
                self._producer = producer
            return self._producer

    async def ping(self) -> bool:
        """Whether the cluster answers a metadata request now."""
        try:
            producer = await self.start()
            await self._bounded(producer.client.fetch_all_metadata())
        except Exception:
            return False
        return True

    async def reset(self) -> None:
        if self._producer is not None:
            await self._discard(self._producer)

    async def close(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await _stop(producer)

    async def _discard(self, producer: AIOKafkaProducer) -> None:
        """Drop `producer` unless a concurrent failure already replaced it."""
        async with self._lock:
            if self._producer is not producer:
                return
            self._producer = None
        log.warning("recreating the Kafka producer after a failed send")
        await _stop(producer)

    async def _bounded(self, work: Awaitable[T]) -> T:
        """`work`, or `TimeoutError` after `timeout_s` (it cancelled): what `wait_for` does
        (it is this since Python 3.12), without the task `wait_for` wraps a coroutine in
        on 3.11 (≈ 5 µs of every produce)."""
        if self._timeout_s is None:
            return await work
        async with asyncio.timeout(self._timeout_s):
            return await work


async def _deliver(producer: AIOKafkaProducer, messages: Sequence[Message]) -> None:
    futures = [
        await producer.send(m.topic, m.value, key=m.key, headers=list(m.headers or ()) or None)
        for m in messages
    ]
    if len(futures) == 1:  # the gateway's one command per request: no gather (≈ 3.5 µs)
        await futures[0]
    else:
        await asyncio.gather(*futures)


async def _stop(producer: AIOKafkaProducer) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), 5)
