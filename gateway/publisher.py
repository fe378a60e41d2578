"""The Kafka side: one idempotent producer (acks=all), started lazily and restarted on demand.

`publish` returns only once the broker acked the record; a timeout or a KafkaError is a
`BrokerUnavailable` (503), never a 202. A record that was in fact written despite the
timeout is harmless: its message_id is deterministic and every consumer dedupes on it.
"""

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from common import logs
from common.kafka import make_producer
from gateway.errors import BrokerUnavailable
from gateway.settings import GatewaySettings
from schemas.codec import encode, encode_key
from schemas.messages import Envelope

log = logging.getLogger("gateway.publisher")
ProducerFactory = Callable[[GatewaySettings], AIOKafkaProducer]


def default_producer(settings: GatewaySettings) -> AIOKafkaProducer:
    timeout_ms = int(settings.gateway_produce_timeout_s * 1000)
    return make_producer(settings, request_timeout_ms=timeout_ms, metadata_max_age_ms=30_000)


class Publisher:
    def __init__(self, settings: GatewaySettings, factory: ProducerFactory = default_producer):
        self.settings = settings
        self.factory = factory
        self.timeout = settings.gateway_produce_timeout_s
        self.producer: AIOKafkaProducer | None = None
        self.lock = asyncio.Lock()

    async def connect(self) -> AIOKafkaProducer:
        """The running producer, starting a fresh one if there is none (bounded in time)."""
        async with self.lock:
            if self.producer is not None:
                return self.producer
            producer = self.factory(self.settings)
            # Its background tasks outlive this request: they must not log under its id.
            start = asyncio.create_task(producer.start(), context=logs.without_request())
            try:
                await asyncio.wait_for(start, self.timeout)
            except (KafkaError, OSError, TimeoutError) as exc:
                await self._discard(producer)
                raise BrokerUnavailable() from exc
            self.producer = producer
            return producer

    async def try_connect(self) -> None:
        try:
            await self.connect()
        except BrokerUnavailable:
            log.warning("Kafka unavailable at start-up; will connect on demand")

    async def publish(
        self,
        topic: str,
        key: object,
        message: Envelope,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        producer = await self.connect()
        send = producer.send_and_wait(topic, encode(message), key=encode_key(key), headers=headers)
        try:
            await asyncio.wait_for(send, self.timeout)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("produce to %s failed: %r", topic, exc)
            if isinstance(exc, KafkaError) and not exc.retriable:
                await self.close()  # a fatal producer state: the next call starts afresh
            raise BrokerUnavailable() from exc

    async def ping(self) -> bool:
        try:
            producer = await self.connect()
            await asyncio.wait_for(producer.client.fetch_all_metadata(), self.timeout)
        except (BrokerUnavailable, KafkaError, OSError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        async with self.lock:
            if self.producer is not None:
                await self._discard(self.producer)
                self.producer = None

    @staticmethod
    async def _discard(producer: AIOKafkaProducer) -> None:
        try:
            await producer.stop()
        except (KafkaError, OSError) as exc:
            log.warning("stopping the producer: %r", exc)
