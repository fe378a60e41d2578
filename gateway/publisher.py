"""The gateway's side of Kafka: the common self-healing producer, its failures as 503.

`publish` returns only once the broker acked the record; a timeout or a Kafka failure is a
`BrokerUnavailable` (503), never a 202. A record that was in fact written despite the
timeout is harmless: its message_id is deterministic and every consumer dedupes on it.
"""

import logging
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from common.kafka import make_producer
from common.producer import Headers, Producer
from gateway.errors import BrokerUnavailable
from gateway.settings import GatewaySettings
from schemas.codec import encode, encode_key
from schemas.messages import Envelope

log = logging.getLogger("gateway.publisher")
ProducerFactory = Callable[[GatewaySettings], AIOKafkaProducer]
UNAVAILABLE = (KafkaError, OSError, TimeoutError)


def default_producer(settings: GatewaySettings) -> AIOKafkaProducer:
    timeout_ms = int(settings.gateway_produce_timeout_s * 1000)
    return make_producer(settings, request_timeout_ms=timeout_ms, metadata_max_age_ms=30_000)


class Publisher:
    def __init__(self, settings: GatewaySettings, factory: ProducerFactory = default_producer):
        self.producer = Producer(
            settings,
            timeout_s=settings.gateway_produce_timeout_s,
            factory=lambda: factory(settings),
        )

    async def try_connect(self) -> None:
        try:
            await self.producer.start()
        except UNAVAILABLE as exc:
            log.warning("Kafka unavailable at start-up (%r); will connect on demand", exc)

    async def publish(
        self, topic: str, key: object, message: Envelope, headers: Headers | None = None
    ) -> None:
        try:
            await self.producer.send(topic, encode(message), key=encode_key(key), headers=headers)
        except UNAVAILABLE as exc:  # the producer was dropped: the next call starts afresh
            log.warning("produce to %s failed: %r", topic, exc)
            raise BrokerUnavailable() from exc

    async def ping(self) -> bool:
        return await self.producer.ping()

    async def close(self) -> None:
        await self.producer.close()
