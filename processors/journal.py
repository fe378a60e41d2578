"""What a processor's transaction writes last, in one statement just before its COMMIT.

A handler's transaction ends with rows that nothing in the same transaction reads back: the
events it queues in the outbox (with the relay's `NOTIFY`), the message's inbox row, and,
when a subscription moved, the new period and the scheduler's due rows. Each used to be a
round trip of its own; `Journal` collects them while the transaction runs and `flush`
writes them all in one `INSERT … SELECT … FROM unnest(…)` per table, chained in one
statement, in the transaction (`uow.PgUnitOfWork.transaction` calls it before COMMIT, so
they commit with the state change or not at all).

The rows are those `common.outbox.append`, `common.inbox.record`,
`subscriptions.repository.add_period` and `plan_due` write, with the same conflict rules:
an event or inbox row already there is kept (`ON CONFLICT DO NOTHING`), a due row planned
twice is queued once, a second period for one payment is an error that rolls the
transaction back. Outbox rows keep the order they were appended in (their ids are the
relay's publication order).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg

from common.outbox import CHANNEL
from processors.inbox import InboxEntry
from schemas.codec import encode
from schemas.messages import Envelope

# (kind, due_at, period_number, attempt): one row of payments_history.subscription_due
Due = tuple[str, datetime, int, int]

_FLUSH = """
WITH queued AS (
    INSERT INTO payments_history.outbox
        (message_id, topic, key, type, payload, payment_id, refund_id)
    SELECT e.message_id, e.topic, e.key, e.type, e.payload::jsonb, e.payment_id, e.refund_id
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                $7::uuid[]) WITH ORDINALITY
         AS e(message_id, topic, key, type, payload, payment_id, refund_id, n)
    ORDER BY e.n
    ON CONFLICT (message_id) DO NOTHING
), recorded AS (
    INSERT INTO payments_history.inbox
        (consumer, message_id, type, topic, partition, "offset", payment_id)
    SELECT * FROM unnest($8::text[], $9::uuid[], $10::text[], $11::text[], $12::int[],
                         $13::bigint[], $14::uuid[])
    ON CONFLICT (consumer, message_id) DO NOTHING
), periods AS (
    INSERT INTO payments_history.subscription_periods
        (subscription_id, number, payment_id, kind, starts_at, ends_at)
    SELECT * FROM unnest($15::uuid[], $16::int[], $17::uuid[], $18::text[],
                         $19::timestamptz[], $20::timestamptz[])
), planned AS (
    INSERT INTO payments_history.subscription_due
        (subscription_id, user_id, kind, due_at, period_number, attempt)
    SELECT * FROM unnest($21::uuid[], $22::uuid[], $23::text[], $24::timestamptz[],
                         $25::int[], $26::int[])
    ON CONFLICT (subscription_id, kind, due_at) DO NOTHING
)
SELECT CASE WHEN cardinality($1::uuid[]) > 0 THEN (SELECT true FROM pg_notify($27, $28)) END
"""

_NOTIFY_MAX = 7000  # PostgreSQL refuses a NOTIFY payload of 8000 bytes or more
_Event = tuple[UUID, str, str, str, str, UUID | None, UUID | None]
_Inbox = tuple[str, UUID, str, str, int, int, UUID | None]
_Period = tuple[UUID, int, UUID | None, str, datetime, datetime]
_Planned = tuple[UUID, UUID, str, datetime, int, int]


@dataclass
class Journal:
    """The tail of one transaction: rows to insert in one statement before COMMIT."""

    events: dict[UUID, _Event] = field(default_factory=dict)
    inbox: dict[tuple[str, UUID], _Inbox] = field(default_factory=dict)
    periods: list[_Period] = field(default_factory=list)
    planned: list[_Planned] = field(default_factory=list)

    def append(
        self,
        event: Envelope,
        *,
        topic: str,
        key: str,
        payment_id: UUID | None = None,
        refund_id: UUID | None = None,
    ) -> None:
        """Queue `event` for the relay (a message_id queued before is kept as it was)."""
        payload = encode(event).decode()
        row = (event.message_id, topic, key, event.type, payload, payment_id, refund_id)
        self.events.setdefault(event.message_id, row)

    def record(self, entry: InboxEntry) -> None:
        o = entry.origin
        row = (entry.consumer, entry.message_id, entry.type, o.topic, o.partition, o.offset)
        self.inbox.setdefault((entry.consumer, entry.message_id), (*row, entry.payment_id))

    def add_period(
        self,
        subscription_id: UUID,
        number: int,
        payment_id: UUID | None,
        kind: str,
        span: tuple[datetime, datetime],
    ) -> None:
        self.periods.append((subscription_id, number, payment_id, kind, *span))

    def plan(self, subscription_id: UUID, user_id: UUID, due: Iterable[Due]) -> None:
        """Queue the scheduler's rows (`subscriptions.schedule.due`) for one subscription."""
        self.planned.extend((subscription_id, user_id, *row) for row in due)

    def about(self) -> str:
        """The NOTIFY payload: the queued events' payment ids, comma-separated, so a gateway
        holding `Prefer: wait` requests re-reads only for its own (gateway/waiting.py); ''
        (wake every wait) when an event names no payment or the list would not fit."""
        ids = [row[5] for row in self.events.values()]
        if not ids or any(i is None for i in ids):
            return ""
        payload = ",".join(sorted({str(i) for i in ids}))
        return payload if len(payload) <= _NOTIFY_MAX else ""

    def __bool__(self) -> bool:
        return bool(self.events or self.inbox or self.periods or self.planned)

    async def flush(self, conn: asyncpg.Connection) -> None:
        """Write everything queued, in the caller's transaction; then start empty again."""
        if not self:
            return
        args = [
            *_columns(list(self.events.values()), 7),
            *_columns(list(self.inbox.values()), 7),
            *_columns(self.periods, 6),
            *_columns(self.planned, 6),
        ]
        await conn.execute(_FLUSH, *args, CHANNEL, self.about())
        self.events, self.inbox, self.periods, self.planned = {}, {}, [], []


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows → one list per column (unnest's arrays); `width` empty lists for no rows."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]
