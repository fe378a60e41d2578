"""An idempotent producer that heals itself.

aiokafka issue #1017: after a broker restart an idempotent producer can stay stuck on
OutOfOrderSequenceNumber forever. Any failed batch therefore throws the producer away and
builds a fresh one (new producer id, sequences from zero); the caller retries the batch,
which is safe because every message carries its deterministic message_id.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from common.kafka import make_producer
from common.settings import Settings

log = logging.getLogger(__name__)

Message = tuple[str, bytes, bytes]  # topic, key, value


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def send_all(self, messages: Sequence[Message]) -> None:
        """Return only once every message is acknowledged by all in-sync replicas."""
        producer = await self._ensure()
        try:
            futures = [await producer.send(t, value, key=key) for t, key, value in messages]
            await asyncio.gather(*futures)
        except Exception:
            await self.reset()
            raise

    async def _ensure(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self._settings)
            try:
                await producer.start()
            except Exception:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def reset(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            log.warning("recreating the Kafka producer after a failed send")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()
