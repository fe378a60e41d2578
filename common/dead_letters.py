"""Dead letters, written once for every Kafka reader (consumers and processors).

A dead letter is a `DeadLetter` message on billing.dlq.v1 (CONTRACT §3: keyed by the
original key, with the error and the original topic/partition/offset) plus a row in
`payments_history.dead_letters` (once per consumer + origin) for `billing dlq list` and
`billing dlq reinject`; `billing_dead_letters_total{consumer}` counts them (alerted on).
Only then does the record count as done and its offset move. No inbox row is written for
it, so a reinjected copy of the original message is handled as new.
"""

import logging
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from aiokafka import ConsumerRecord

from common.inbox import Origin
from common.metrics import DEAD_LETTERS
from common.producer import Producer
from common.runloop import GaveUp
from schemas import ids
from schemas.codec import UndecodableMessage, decode, encode, encode_key
from schemas.messages import DeadLetter

log = logging.getLogger(__name__)


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
            letter.original_key,
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
        original_key=None if origin.key is None else pg_text(origin.key),
        original_value=pg_text(origin.value.decode("utf-8", errors="replace")),
        error=pg_text(error[:4000]),
    )


def pg_text(text: str) -> str:
    """`text` as PostgreSQL can store it: a NUL (which no text column accepts, so the row's
    INSERT would fail on every retry and block the lane) becomes U+FFFD, like the bytes
    that are not UTF-8."""
    return text.replace("\x00", "\ufffd")
