"""The tracking table: (consumer, message_id) once, written in the transaction of the effect."""

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from common import inbox
from common.inbox import seen

__all__ = ["Origin", "record", "seen"]


@dataclass(frozen=True)
class Origin:
    """Where a message came from: what the inbox row records next to its id."""

    consumer: str
    message_id: UUID
    type: str
    topic: str
    partition: int
    offset: int
    payment_id: UUID | None = None


async def record(conn: asyncpg.Connection, origin: Origin) -> None:
    await inbox.record(
        conn,
        origin.consumer,
        origin.message_id,
        origin.type,
        (origin.topic, origin.partition, origin.offset),
        origin.payment_id,
    )
