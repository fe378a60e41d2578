"""The PostgreSQL unit of work: `ports.Store` over asyncpg, one transaction per `transaction()`.

A transaction's tail — the outbox events, the inbox row, a subscription's new period and due
rows — is collected in a `Journal` and written in one statement before COMMIT
(processors/journal.py); a `PgStore` made on a connection without one writes each at once.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from domain.refund_policy import RefundPolicy
from processors import external_refunds, inbox, repository
from processors.group_commit import GroupCommitter
from processors.inbox import InboxEntry
from processors.journal import Journal
from processors.provider.objects import ProviderRefund, SavedCard
from processors.repository import Conn, PaymentChange, PaymentRow, RefundRow
from processors.subscriptions import lifecycle
from schemas.messages import Envelope

R = TypeVar("R")


class PgStore:
    """`ports.Store` on a pool (each call its own statement) or on a connection in a
    transaction; with a `journal`, the tail of the transaction waits for `flush`."""

    def __init__(self, conn: Conn, journal: Journal | None = None) -> None:
        self._conn = conn
        self._journal = journal

    async def now(self) -> datetime:
        return await repository.now(self._conn)

    async def seen(self, consumer: str, message_id: UUID) -> bool:
        return await inbox.seen(self._conn, consumer, message_id)

    async def payment_unless_seen(
        self, payment_id: UUID, consumer: str, message_id: UUID
    ) -> tuple[bool, PaymentRow | None]:
        return await repository.load_payment_unless_seen(
            self._conn, payment_id, consumer, message_id
        )

    async def payment_by_external_unless_seen(
        self, external_id: str, consumer: str, message_id: UUID
    ) -> tuple[bool, PaymentRow | None]:
        return await repository.payment_by_external_unless_seen(
            self._conn, external_id, consumer, message_id
        )

    async def payment(self, payment_id: UUID, *, lock: bool = False) -> PaymentRow | None:
        return await repository.load_payment(self._conn, payment_id, lock=lock)

    async def refund(self, refund_id: UUID, *, lock: bool = False) -> RefundRow | None:
        return await repository.load_refund(self._conn, refund_id, lock=lock)

    async def refund_by_external_id(self, external_id: UUID) -> RefundRow | None:
        return await repository.find_refund_by_external_id(self._conn, external_id)

    async def move_payment(
        self,
        payment_id: UUID,
        change: PaymentChange,
        recheck_after_s: float,
        *,
        unsent_only: bool = False,
    ) -> PaymentRow | None:
        return await repository.move_payment(
            self._conn,
            payment_id,
            change,
            recheck_after_s,
            unsent_only=unsent_only,
            lock_user=lifecycle.locks_user(change.status),
        )

    async def reserved_by_others(self, payment_id: UUID, refund_id: UUID) -> list[Decimal]:
        return await repository.reserved_by_others(self._conn, payment_id, refund_id)

    async def reserve_refund(self, refund_id: UUID, receipt: dict[str, Any] | None = None) -> None:
        await repository.reserve_refund(self._conn, refund_id, receipt)

    async def fail_refund(
        self,
        refund_id: UUID,
        reason: str,
        *,
        unsent_only: bool = False,
        unanswered_only: bool = False,
    ) -> RefundRow | None:
        return await repository.fail_refund(
            self._conn,
            refund_id,
            reason,
            unsent_only=unsent_only,
            unanswered_only=unanswered_only,
        )

    async def note_refund_external(
        self, refund_id: UUID, external_id: UUID, external_refund: dict[str, Any]
    ) -> None:
        await repository.note_refund_external(self._conn, refund_id, external_id, external_refund)

    async def record_external_refund(
        self, payment_id: UUID, obj: ProviderRefund, policy: RefundPolicy
    ) -> RefundRow | None:
        return await external_refunds.record(self._connection(), payment_id, obj, policy)

    async def succeed_refund(
        self, refund_id: UUID, external_id: UUID, external_refund: dict[str, Any]
    ) -> tuple[RefundRow, Decimal, bool] | None:
        return await repository.succeed_refund(self._conn, refund_id, external_id, external_refund)

    async def append(
        self,
        event: Envelope,
        *,
        topic: str,
        key: str,
        payment_id: UUID | None = None,
        refund_id: UUID | None = None,
    ) -> None:
        async with self._tail() as journal:
            journal.append(event, topic=topic, key=key, payment_id=payment_id, refund_id=refund_id)

    async def record(self, origin: InboxEntry) -> None:
        if self._journal is None:
            await inbox.record(self._conn, origin)
        else:
            self._journal.record(origin)

    async def on_payment_moved(
        self, payment: PaymentRow, saved_card: SavedCard | None, *, topic: str
    ) -> None:
        """The subscription follows; `move_payment` took the user's lock if it may."""
        locked = lifecycle.locks_user(payment.status)
        facts = lifecycle.facts_of(payment)
        async with self._tail() as journal:
            await lifecycle.follow(
                self._connection(), journal, facts, saved_card, topic=topic, locked=locked
            )

    async def on_refund_succeeded(self, refund_id: UUID, *, topic: str) -> None:
        async with self._tail() as journal:
            await lifecycle.refund_succeeded(self._connection(), journal, refund_id, topic=topic)

    async def flush(self) -> None:
        """Write the journal's rows (`PgUnitOfWork.transaction` calls it before COMMIT)."""
        if self._journal is not None:
            await self._journal.flush(self._connection())

    @asynccontextmanager
    async def _tail(self) -> AsyncIterator[Journal]:
        """The transaction's journal; without one, a journal written when the block ends."""
        if self._journal is not None:
            yield self._journal
            return
        journal = Journal()
        yield journal
        await journal.flush(self._connection())

    def _connection(self) -> asyncpg.Connection:
        """The subscription hooks write several rows: only ever inside a transaction."""
        if isinstance(self._conn, asyncpg.Pool):
            raise TypeError("subscription hooks run inside a transaction, not on the pool")
        return self._conn


class PgUnitOfWork:
    def __init__(self, pool: asyncpg.Pool, committer: GroupCommitter | None = None) -> None:
        self._pool = pool
        self._reads = PgStore(pool)
        self.committer = committer or GroupCommitter(pool, enabled=False)

    @property
    def reads(self) -> PgStore:
        return self._reads

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgStore]:
        async with self._pool.acquire() as conn, conn.transaction():
            store = PgStore(conn, Journal())
            yield store
            await store.flush()

    async def grouped(self, key: Hashable, body: Callable[[PgStore], Awaitable[R]]) -> R:
        """`body` in a transaction perhaps shared with other handlers' (processors/
        group_commit.py); returns once committed. `key`: the user it writes for."""

        async def run(conn: asyncpg.Connection, journal: Journal) -> R:
            return await body(PgStore(conn, journal))

        return await self.committer.run(key, run)
