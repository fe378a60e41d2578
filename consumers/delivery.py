"""One delivery policy for both consumers: retry, then dead-letter, never block forever.

For each record: decode it (undecodable → dead letter), run the handler. A
`PermanentError` dead-letters at once; a `TransientError` or an unexpected exception is
retried with exponential backoff and jitter, then dead-lettered once attempts run out.
An outage of PostgreSQL or Kafka is different: the message is fine, the world is not,
so the loop waits (capped backoff) without counting attempts and without moving the
offset — nothing is lost and nothing is dead-lettered for an outage.

A dead letter is produced to billing.dlq.v1 (keyed by the original key) and inserted into
`payments_history.dead_letters` (once per consumer + origin); only then does `deliver`
return and the runner commit the offset. No inbox row is written for it, so a
reinjected copy of the original message is handled as new.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from common import logs
from consumers.errors import PermanentError
from consumers.inbox import Origin
from schemas import ids
from schemas.codec import UndecodableMessage, decode, encode, encode_key
from schemas.messages import DeadLetter, Envelope

log = logging.getLogger(__name__)

Handler = Callable[[Envelope, Origin], Awaitable[None]]

# Infrastructure being down: wait, do not count an attempt.
OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError and friends while (re)connecting to PostgreSQL
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.TooManyConnectionsError,
    KafkaError,
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_seconds: float = 0.3
    max_seconds: float = 4.0
    outage_max_seconds: float = 5.0

    def backoff(self, attempt: int) -> float:
        """Sleep after failed attempt `attempt` (1-based): exponential, half of it jittered."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def outage_backoff(self, tries: int) -> float:
        ceiling = min(self.outage_max_seconds, 0.2 * 2 ** min(tries, 10))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass
class Delivery:
    consumer: str
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    dlq_topic: str
    policy: RetryPolicy

    async def deliver(self, origin: Origin, handle: Handler) -> None:
        """Return once the record is handled or dead-lettered; only then may its offset move."""
        try:
            event = decode(origin.value)
        except UndecodableMessage as exc:
            await self.dead_letter(origin, None, f"undecodable: {exc}")
            return
        logs.bind_message(event)
        error = await self._attempt(event, origin, handle)
        if error is not None:
            await self.dead_letter(origin, event.message_id, error)

    async def _attempt(self, event: Envelope, origin: Origin, handle: Handler) -> str | None:
        """None once handled; otherwise the error to dead-letter with."""
        attempt = outages = 0
        while True:
            try:
                await handle(event, origin)
                return None
            except PermanentError as exc:
                return f"permanent: {exc}"
            except OUTAGES as exc:
                outages += 1
                await self._wait_outage(origin, exc, outages)
            except Exception as exc:  # TransientError, and anything we did not foresee
                attempt += 1
                log.warning(
                    "%s attempt %d/%d failed: %r",
                    _where(origin),
                    attempt,
                    self.policy.attempts,
                    exc,
                )
                if attempt >= self.policy.attempts:
                    return f"gave up after {attempt} attempts: {type(exc).__name__}: {exc}"
                await asyncio.sleep(self.policy.backoff(attempt))

    async def dead_letter(self, origin: Origin, message_id: UUID | None, error: str) -> None:
        """Produce to the DLQ and insert the row, retrying through outages until both hold."""
        letter = dead_letter_for(self.consumer, origin, error)
        outages = 0
        while True:
            try:
                await self._publish(letter, origin, message_id)
                log.error("%s dead-lettered: %s", _where(origin), error)
                return
            except OUTAGES as exc:
                outages += 1
                await self._wait_outage(origin, exc, outages)

    async def _publish(self, letter: DeadLetter, origin: Origin, message_id: UUID | None) -> None:
        key = encode_key(origin.key) if origin.key is not None else None
        await self.producer.send_and_wait(self.dlq_topic, encode(letter), key=key)
        await self.pool.execute(
            """
            INSERT INTO payments_history.dead_letters
                (consumer, message_id, origin_topic, origin_partition, origin_offset,
                 key, payload, error)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (consumer, origin_topic, origin_partition, origin_offset) DO NOTHING
            """,
            self.consumer,
            message_id,
            origin.topic,
            origin.partition,
            origin.offset,
            origin.key,
            letter.original_value,
            letter.error,
        )

    async def _wait_outage(self, origin: Origin, exc: BaseException, tries: int) -> None:
        delay = self.policy.outage_backoff(tries)
        log.warning(
            "%s infrastructure unavailable (%r); retrying in %.1fs", _where(origin), exc, delay
        )
        await asyncio.sleep(delay)


def dead_letter_for(consumer: str, origin: Origin, error: str) -> DeadLetter:
    return DeadLetter(
        message_id=ids.message_id(
            "DeadLetter", consumer, f"{origin.topic}:{origin.partition}:{origin.offset}"
        ),
        consumer=consumer,
        original_topic=origin.topic,
        original_partition=origin.partition,
        original_offset=origin.offset,
        original_key=origin.key,
        original_value=origin.value.decode("utf-8", errors="replace"),
        error=error[:4000],
    )


def _where(origin: Origin) -> str:
    return f"{origin.topic}[{origin.partition}]@{origin.offset}"
