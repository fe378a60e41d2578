"""The tracking table: (consumer, message_id) once, written in the transaction of the effect."""

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from common import inbox
from common.inbox import Origin, seen

__all__ = ["InboxEntry", "Origin", "record", "seen"]


@dataclass(frozen=True)
class InboxEntry:
    """The inbox row of one message: who handled it, which message, where it was read."""

    consumer: str
    message_id: UUID
    type: str
    origin: Origin
    payment_id: UUID | None = None


async def record(conn: asyncpg.Connection, entry: InboxEntry) -> None:
    await inbox.record(
        conn, entry.consumer, entry.message_id, entry.type, entry.origin, entry.payment_id
    )
