"""The consumers' delivery policy on the common run loop: retry, then dead-letter.

For each record: decode it and run the handler (common/runloop.py does the lanes, the
commits and the retries). An undecodable record or a `PermanentError` is dead-lettered at
once; a `TransientError` or an unexpected exception is retried with exponential backoff and
jitter, then dead-lettered once attempts run out. An outage of PostgreSQL or Kafka is
different: the message is fine, the world is not, so the loop waits (capped backoff) without
counting attempts and without moving the offset — nothing is lost and nothing is
dead-lettered for an outage.

A dead letter is produced to billing.dlq.v1 (keyed by the original key) and inserted into
`payments_history.dead_letters` (once per consumer + origin); only then does the record
count as done and its offset move. No inbox row is written for it, so a reinjected copy of
the original message is handled as new.
"""

import logging
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from aiokafka import ConsumerRecord

from common.inbox import Origin
from common.metrics import DEAD_LETTERS
from common.producer import Producer
from common.retry import OUTAGES, RetryPolicy
from common.runloop import GaveUp, MessageHandler
from consumers.errors import PermanentError
from consumers.settings import ConsumerSettings
from schemas import ids
from schemas.codec import UndecodableMessage, decode, encode, encode_key
from schemas.messages import DeadLetter

log = logging.getLogger(__name__)

Handler = MessageHandler


def policy_from(settings: ConsumerSettings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.consumer_retry_attempts,
        base_seconds=settings.consumer_retry_base_seconds,
        max_seconds=settings.consumer_retry_max_seconds,
        outage_max_seconds=settings.consumer_outage_max_seconds,
        permanent=(PermanentError, UndecodableMessage),
        outages=OUTAGES,
    )


@dataclass
class DeadLetters:
    """The give-up action: produce the dead letter, then insert its row (both idempotent)."""

    consumer: str
    pool: asyncpg.Pool
    producer: Producer
    topic: str

    async def write(self, record: ConsumerRecord, failure: GaveUp) -> None:
        origin = Origin.of(record)
        error = reason(failure)
        letter = dead_letter_for(self.consumer, origin, error)
        key = encode_key(origin.key) if origin.key is not None else None
        await self.producer.send(self.topic, encode(letter), key=key)
        await self.pool.execute(
            """
            INSERT INTO payments_history.dead_letters
                (consumer, message_id, origin_topic, origin_partition, origin_offset,
                 key, payload, error)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (consumer, origin_topic, origin_partition, origin_offset) DO NOTHING
            """,
            self.consumer,
            _message_id(origin),
            origin.topic,
            origin.partition,
            origin.offset,
            origin.key,
            letter.original_value,
            letter.error,
        )
        DEAD_LETTERS.labels(self.consumer).inc()
        log.error(
            "%s[%s]@%s dead-lettered: %s", origin.topic, origin.partition, origin.offset, error
        )


def reason(failure: GaveUp) -> str:
    exc = failure.error
    if isinstance(exc, UndecodableMessage):
        return f"undecodable: {exc}"
    if failure.permanent:
        return f"permanent: {exc}"
    return f"gave up after {failure.attempts} attempts: {type(exc).__name__}: {exc}"


def _message_id(origin: Origin) -> UUID | None:
    try:
        return decode(origin.value).message_id
    except UndecodableMessage:
        return None


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
