"""The inbox (tracking) table: `(consumer, message_id)` once per fully handled message.

Every processor and consumer checks it before any side effect and writes it in the same
PostgreSQL transaction as its own state change, so a redelivery or a replay from offset 0
repeats nothing.

`SeenInBatch` is the run loop's fast path over it for a whole fetched batch (one query
instead of one per record). It decodes each record of such a batch once, and can leave the
messages it let through in a `Decoded` for their handler to take instead of decoding them
again, and mark their records in a `Checked`: a handler whose effect is idempotent where it
lands may then skip its own check of a record its batch's pre-read found not handled.

`PendingInbox` writes rows later, many in one statement, for a reader whose message has no
effect of its own in PostgreSQL (none at all, or one that is idempotent where it lands): the
run loop flushes it before it commits offsets (`KeyedRunLoop(before_commit=...)`), so an
offset never passes a record whose row is not durable.
"""

import asyncio
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
from aiokafka import ConsumerRecord

from schemas.codec import UndecodableMessage, decode
from schemas.messages import Envelope

_SEEN = "SELECT 1 FROM payments_history.inbox WHERE consumer = $1 AND message_id = $2"
_SEEN_ANY = """
SELECT message_id FROM payments_history.inbox WHERE consumer = $1 AND message_id = ANY($2::uuid[])
"""
_RECORD = """
INSERT INTO payments_history.inbox
    (consumer, message_id, type, topic, partition, "offset", payment_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (consumer, message_id) DO NOTHING
RETURNING 1
"""
_RECORD_MANY = """
INSERT INTO payments_history.inbox
    (consumer, message_id, type, topic, partition, "offset", payment_id)
SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::uuid[])
ON CONFLICT (consumer, message_id) DO NOTHING
"""
Row = tuple[UUID, str, str, int, int, UUID | None]


@dataclass(frozen=True)
class Origin:
    """Where a record came from: what the inbox row records, enough to dead-letter it."""

    topic: str
    partition: int
    offset: int
    key: str | None = None
    value: bytes = b""

    @classmethod
    def of(cls, record: ConsumerRecord) -> "Origin":
        key = record.key.decode("utf-8", errors="replace") if record.key is not None else None
        return cls(record.topic, record.partition, record.offset, key, record.value or b"")


async def seen(conn: asyncpg.Connection | asyncpg.Pool, consumer: str, message_id: UUID) -> bool:
    return await conn.fetchval(_SEEN, consumer, message_id) is not None


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    consumer: str,
    message_id: UUID,
    type_: str,
    origin: Origin,
    payment_id: UUID | None = None,
) -> bool:
    """Insert the row for a message read at `origin`.

    False when it was already there: someone else handled the message first.
    """
    inserted = await conn.fetchval(
        _RECORD,
        consumer,
        message_id,
        type_,
        origin.topic,
        origin.partition,
        origin.offset,
        payment_id,
    )
    return inserted is not None


async def seen_any(
    conn: asyncpg.Connection | asyncpg.Pool, consumer: str, message_ids: Sequence[UUID]
) -> set[UUID]:
    """Which of `message_ids` `consumer` has handled: one statement for all of them."""
    rows = await conn.fetch(_SEEN_ANY, consumer, list(set(message_ids)))
    return {row["message_id"] for row in rows}


def message_id_of(value: bytes | None) -> UUID | None:
    """A record's `message_id`, or None when it has no readable one (its handler decides)."""
    try:
        found = json.loads(value or b"")
        return UUID(found["message_id"]) if isinstance(found, dict) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class Decoded:
    """Messages decoded ahead of their handler, by (topic, partition, offset); at most
    `limit` (the oldest go first: a record revoked before its handler ran leaves its entry)."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._items: OrderedDict[tuple[str, int, int], Envelope] = OrderedDict()

    def put(self, record: ConsumerRecord, message: Envelope) -> None:
        self._items[(record.topic, record.partition, record.offset)] = message
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def take(self, record: ConsumerRecord) -> Envelope | None:
        return self._items.pop((record.topic, record.partition, record.offset), None)

    def __len__(self) -> int:
        return len(self._items)


class Checked:
    """Records whose messages `SeenInBatch` found not handled when it looked their batch up,
    by (topic, partition, offset); at most `limit` (the oldest go first).

    For a handler whose only effect is idempotent where it lands (the notifications
    consumer: Notify drops a second send with the same `dedup_key`), one that `take`s its
    record's mark may skip its own inbox check: that check could then only find a row
    written since the pre-read by another delivery of the message (a rebalance's overlap),
    a race it narrowed but never closed (such a row is written up to a commit interval after
    its send); the idempotence where the effect lands is what closes it. Every fetched batch
    first clears its records' marks, so a mark is never older than its record's last fetch:
    a record fetched again whose lookup fails or is not made is checked by its handler.
    """

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._keys: OrderedDict[tuple[str, int, int], None] = OrderedDict()

    def add(self, record: ConsumerRecord) -> None:
        self._keys[(record.topic, record.partition, record.offset)] = None
        while len(self._keys) > self._limit:
            self._keys.popitem(last=False)

    def forget(self, record: ConsumerRecord) -> None:
        self._keys.pop((record.topic, record.partition, record.offset), None)

    def take(self, origin: Origin) -> bool:
        """Whether the record at `origin` was marked; its mark is gone after this."""
        key = (origin.topic, origin.partition, origin.offset)
        return self._keys.pop(key, False) is None

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True)
class SeenInBatch:
    """`KeyedRunLoop`'s `already_done` for a reader whose handlers start with `seen`.

    A batch of at least `min_batch` records costs one query, which says which records'
    messages `consumer` has handled: a replay from offset 0 re-reads them without a
    statement each. A smaller batch (the steady state: records one or two at a time, all
    new) is not looked up at all, so it costs no statement more than before. Each record of
    a looked-up batch is decoded once, as its handler would decode it: one that does not
    decode is never skipped (its handler dead-letters it), whatever its `message_id`. With
    `decoded`, the messages of the records it lets through are left there for the handler;
    with `checked`, those records are marked there (`Checked`).
    Only valid for a reader whose every handler returns at once, changing nothing, when its
    message is in the inbox — so skipping is what the record would have done.
    """

    pool: asyncpg.Pool
    consumer: str
    min_batch: int = 8
    decoded: Decoded | None = None
    checked: Checked | None = None

    async def __call__(self, records: Sequence[ConsumerRecord]) -> list[bool]:
        if self.checked is not None:
            for record in records:  # a mark of an earlier fetch says nothing now
                self.checked.forget(record)
        if len(records) < self.min_batch:
            return [False] * len(records)
        messages = [_decoded(record.value) for record in records]
        known = [m.message_id for m in messages if m is not None]
        done = await seen_any(self.pool, self.consumer, known) if known else set()
        flags = [m is not None and m.message_id in done for m in messages]
        for record, message, skip in zip(records, messages, flags, strict=True):
            if message is not None and not skip:
                self._let_through(record, message)
        return flags

    def _let_through(self, record: ConsumerRecord, message: Envelope) -> None:
        if self.decoded is not None:
            self.decoded.put(record, message)
        if self.checked is not None:
            self.checked.add(record)


def _decoded(value: bytes | None) -> Envelope | None:
    """The message the handler would get, or None for one it dead-letters."""
    try:
        return decode(value or b"")
    except UndecodableMessage:
        return None


@dataclass
class PendingInbox:
    """Inbox rows of handled messages, written by `flush` in one multi-row insert.

    Only for a message whose handling changes nothing in PostgreSQL: its row is then not
    part of any transaction of ours and only tells a later delivery (a replay, a rebalance)
    that the message was handled. The run loop calls `flush` before every offset commit and
    commits nothing if it fails; the rows stay and are written by the next flush. So a crash
    before the flush redelivers the record, exactly as a crash between an effect and its
    inbox row always did: only a reader whose effect is idempotent may use it.
    """

    pool: asyncpg.Pool
    consumer: str
    _rows: dict[UUID, Row] = field(default_factory=dict)
    _flushing: dict[UUID, Row] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def add(
        self, message_id: UUID, type_: str, origin: Origin, payment_id: UUID | None = None
    ) -> None:
        self._rows[message_id] = (
            message_id,
            type_,
            origin.topic,
            origin.partition,
            origin.offset,
            payment_id,
        )

    def __contains__(self, message_id: UUID) -> bool:
        return message_id in self._rows or message_id in self._flushing

    def __len__(self) -> int:
        return len(self._rows)

    async def flush(self) -> None:
        """Write every row added before the call; on failure keep them for the next flush.

        One flush at a time: a second caller waits for the first, so when it returns every
        row added before it was called is written (or it raises)."""
        async with self._lock:
            if not self._rows:
                return
            # rows added while we await go to the next flush
            self._flushing, self._rows = self._rows, {}
            try:
                columns = zip(*self._flushing.values(), strict=True)
                await self.pool.execute(_RECORD_MANY, self.consumer, *map(list, columns))
            except BaseException:
                self._rows = self._flushing | self._rows
                raise
            finally:
                self._flushing = {}
